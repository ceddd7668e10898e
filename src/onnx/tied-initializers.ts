/**
 * Initializers tied by the exporter. The TorchScript exporter merges initializers with equal values into one
 * tensor and names the others with Identity nodes (`4.weight = Identity(1.weight)`: every BatchNorm weight of
 * a fresh model is all ones, every bias all zeros). In PyTorch they are separate parameters; untying gives
 * each its own initializer again, under its own name, with the same value, and drops the Identity nodes.
 */
import { newGraph, newModel, newTensor, type GraphProto, type ModelProto, type TensorProto } from "./proto.js";

/** alias -> the initializer it is an Identity (or chain of Identities) of, in node order. */
export function tiedInitializers(graph: GraphProto): Map<string, string> {
  const inits = new Set(graph.initializer.map((t) => t.name));
  const outputs = new Set(graph.output.map((v) => v.name));
  const aliases = new Map<string, string>();
  for (const n of graph.node) {
    if (n.opType !== "Identity" || (n.domain && n.domain !== "ai.onnx")) continue;
    const [x] = n.input;
    const [y] = n.output;
    if (!x || !y || outputs.has(y) || inits.has(y)) continue;
    const source = inits.has(x) ? x : aliases.get(x);
    if (source !== undefined) aliases.set(y, source);
  }
  return aliases;
}

/** A tensor proto like `t` under another name (the data is shared, not copied: treat both as read-only). */
function renamed(t: TensorProto, name: string): TensorProto {
  const { $typeName: _, ...fields } = t;
  return newTensor({ ...fields, name });
}

/**
 * The graph with every tied initializer untied: aliases become initializers of their own (after the
 * originals, in node order) and their Identity nodes are gone. Returns `graph` itself when nothing is tied;
 * otherwise a new graph sharing the unchanged nodes and tensors with `graph`.
 */
export function untieInitializers(graph: GraphProto): GraphProto {
  const aliases = tiedInitializers(graph);
  if (aliases.size === 0) return graph;
  const byName = new Map(graph.initializer.map((t) => [t.name, t]));
  const { $typeName: _, ...fields } = graph;
  return newGraph({
    ...fields,
    node: graph.node.filter((n) => !(n.opType === "Identity" && aliases.has(n.output[0] ?? ""))),
    initializer: [...graph.initializer, ...[...aliases].map(([alias, src]) => renamed(byName.get(src)!, alias))],
  });
}

/** The model with its main graph untied (see untieInitializers); `model` itself when nothing is tied. */
export function untieModel(model: ModelProto): ModelProto {
  const graph = untieInitializers(model.graph!);
  if (graph === model.graph) return model;
  const { $typeName: _, ...fields } = model;
  return newModel({ ...fields, graph });
}
