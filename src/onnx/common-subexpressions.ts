/**
 * Common-subexpression elimination over one graph: equal small initializers become one, then every node that
 * repeats an earlier node (same op, domain, inputs and attributes) is dropped and its outputs read from the
 * earlier node's (their value_info goes with them). The graph must be in topological order. Generated graphs
 * repeat work this way where independent passes compute the same value (the training-mode BatchNormalization's
 * batch statistics: once for the forward and the running update, again in its gradient rule). onnxruntime's own
 * elimination does not merge them, because equal constants under different names are different inputs to it.
 *
 * Left alone: nodes that draw random numbers (each draw is its own), nodes with subgraphs and every name a
 * subgraph reads, nodes that write a graph output, and the initializers fed as inputs 3 and 4 of a
 * BatchNormalization (onnxruntime's training-mode kernel writes over those in place).
 */
import { encodeAttribute, encodeTensor, type GraphProto, type NodeProto } from "./proto.js";

const RANDOM_OPS = new Set([
  "RandomNormal",
  "RandomNormalLike",
  "RandomUniform",
  "RandomUniformLike",
  "Multinomial",
  "Bernoulli",
  "Dropout",
]);
/** Initializers with more elements than this are left alone (weights are not repeated; constants are small). */
const MAX_SHARED_ELEMENTS = 64;

export interface EliminationResult {
  nodes: number;
  initializers: number;
}

export function eliminateCommonSubexpressions(graph: GraphProto): EliminationResult {
  const hasSubgraph = (n: NodeProto) => n.attribute.some((a) => a.g || a.graphs.length > 0);
  const pinned = new Set<string>([...graph.output.map((o) => o.name), ...subgraphReads(graph)]);
  for (const n of graph.node)
    if (n.opType === "BatchNormalization" && n.domain === "")
      for (const i of [3, 4]) if (n.input[i]) pinned.add(n.input[i]!);

  const rename = new Map<string, string>();
  const seenTensor = new Map<string, string>();
  const inputs = new Set(graph.input.map((i) => i.name));
  const keptInitializers = graph.initializer.filter((t) => {
    const count = t.dims.reduce((a, d) => a * Number(d), 1);
    if (count > MAX_SHARED_ELEMENTS || pinned.has(t.name) || inputs.has(t.name)) return true;
    const key = fingerprint(encodeTensor({ ...t, name: "" }));
    const first = seenTensor.get(key);
    if (first === undefined) {
      seenTensor.set(key, t.name);
      return true;
    }
    rename.set(t.name, first);
    return false;
  });
  const removedInitializers = graph.initializer.length - keptInitializers.length;
  graph.initializer = keptInitializers;

  const seenNode = new Map<string, NodeProto>();
  const keptNodes: NodeProto[] = [];
  for (const n of graph.node) {
    n.input = n.input.map((i) => rename.get(i) ?? i);
    if (RANDOM_OPS.has(n.opType) || hasSubgraph(n) || n.output.some((o) => pinned.has(o))) {
      keptNodes.push(n);
      continue;
    }
    const key = nodeKey(n);
    const first = seenNode.get(key);
    if (!first || first.output.some((o, i) => o === "" && n.output[i] !== "")) {
      if (!first) seenNode.set(key, n);
      keptNodes.push(n);
      continue;
    }
    n.output.forEach((o, i) => o && rename.set(o, first.output[i]!));
  }
  const removedNodes = graph.node.length - keptNodes.length;
  graph.node = keptNodes;
  graph.valueInfo = graph.valueInfo.filter((v) => !rename.has(v.name));
  return { nodes: removedNodes, initializers: removedInitializers };
}

function nodeKey(n: NodeProto): string {
  const attrs = [...n.attribute]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((a) => fingerprint(encodeAttribute(a)));
  return JSON.stringify([n.domain, n.opType, n.input, n.output.length, attrs]);
}

/** Every name a subgraph of this graph reads (from its enclosing scopes or its own). */
function subgraphReads(graph: GraphProto): string[] {
  const names: string[] = [];
  const visit = (g: GraphProto) => {
    for (const n of g.node)
      for (const a of n.attribute)
        for (const sub of a.g ? [a.g, ...a.graphs] : a.graphs) {
          for (const m of sub.node) names.push(...m.input);
          names.push(...sub.output.map((o) => o.name));
          visit(sub);
        }
  };
  visit(graph);
  return names;
}

const fingerprint = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64");
