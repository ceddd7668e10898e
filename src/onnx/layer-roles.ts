/**
 * Roles of inventory layers, from graph structure alone:
 * - classifier: a weighted layer whose output reaches a model output through shape-only or
 *   normalising-output ops (Flatten, Reshape, Identity, Softmax, pooling, ...) or a ReLU (SqueezeNet's
 *   classifier is a 1x1 conv, ReLU, global pooling).
 * - shortcut: a projection on a residual skip path. The layer's output meets another branch at an Add,
 *   its input is (up to parameter-free ops such as pooling) a tensor X, and the Add's other operand is
 *   computed from the same X through a longer chain of layers (at least two): the main branch. The other
 *   operand must not itself depend on the layer's output: the projection conv that ends an inverted-residual
 *   block feeds both the next block's identity skip and its main branch, and stays body.
 *   Identity shortcuts have no layer; inverted-residual and transformer residual Adds have no such X.
 * - body: everything else.
 */
import type { GraphView } from "./graph-view.js";
import type { NodeProto } from "./proto.js";
import type { Layer } from "./layers.js";

const PASSTHROUGH = new Set([
  "Flatten",
  "Reshape",
  "Identity",
  "Squeeze",
  "Unsqueeze",
  "Transpose",
  "Cast",
  "Dropout",
  "Softmax",
  "LogSoftmax",
  "Sigmoid",
  "GlobalAveragePool",
  "ReduceMean",
  "Relu",
]);
/** Ops that head a weighted layer (the layer inventory groups from them too). */
export const WEIGHTED = new Set(["Conv", "ConvTranspose", "Gemm", "MatMul"]);
/** How far back from a layer's input we look for the tensor the skip path starts from. */
const MAX_SOURCE_STEPS = 6;

/** `nodesOf` gives each layer's nodes, first node first. */
export function assignRoles(
  view: GraphView,
  order: NodeProto[],
  layers: Layer[],
  nodesOf: Map<Layer, NodeProto[]>,
): void {
  const headOf = new Set<NodeProto>();
  const members = new Set<NodeProto>();
  for (const l of layers) {
    const nodes = nodesOf.get(l)!;
    headOf.add(nodes[0]!);
    nodes.forEach((n) => members.add(n));
  }
  const outputs = new Set(view.outputNames);

  const reachesOutput = (value: string, depth = 0): boolean => {
    if (outputs.has(value)) return true;
    if (depth > 16) return false;
    return view
      .consumersOf(value)
      .some((c) => PASSTHROUGH.has(c.opType) && c.output.some((o) => reachesOutput(o, depth + 1)));
  };

  /** Longest chain of layers (counted by their first node) on any path from `from` to `to`, or -1. */
  const layersBetween = (from: string, to: string): number => {
    const dist = new Map<string, number>([[from, 0]]);
    for (const n of order) {
      let best = -1;
      for (const i of n.input) if (i && dist.has(i)) best = Math.max(best, dist.get(i)!);
      if (best < 0) continue;
      const d = best + (headOf.has(n) ? 1 : 0);
      for (const o of n.output) if (o) dist.set(o, Math.max(dist.get(o) ?? -1, d));
      if (dist.has(to)) return dist.get(to)!;
    }
    return dist.get(to) ?? -1;
  };

  /** The layer's input and the tensors before it through parameter-free, single-activation-input nodes. */
  const sources = (layer: Layer): string[] => {
    const out = [layer.input];
    for (let v = layer.input, k = 0; k < MAX_SOURCE_STEPS; k++) {
      const p = view.producer.get(v);
      const acts =
        p?.input.filter((i) => i && !view.initializerNames.has(i) && view.producer.get(i)?.opType !== "Constant") ?? [];
      if (!p || members.has(p) || acts.length !== 1) break;
      v = acts[0]!;
      out.push(v);
    }
    return out;
  };

  /** Whether `value` is computed (through any path) from `from`. */
  const dependsOn = (value: string, from: string): boolean => {
    const seen = new Set<string>();
    const stack = [value];
    while (stack.length) {
      const v = stack.pop()!;
      if (v === from) return true;
      if (seen.has(v)) continue;
      seen.add(v);
      for (const i of view.producer.get(v)?.input ?? []) if (i) stack.push(i);
    }
    return false;
  };

  const isShortcut = (layer: Layer): boolean => {
    for (const add of view.consumersOf(layer.output)) {
      if (add.opType !== "Add" || add.input.length !== 2) continue;
      const other = add.input[0] === layer.output ? add.input[1]! : add.input[0]!;
      if (other === layer.output || view.initializerNames.has(other)) continue;
      if (dependsOn(other, layer.output)) continue;
      if (sources(layer).some((s) => layersBetween(s, other) >= 2)) return true;
    }
    return false;
  };

  for (const l of layers) {
    if (!WEIGHTED.has(l.op)) l.role = "body";
    else if (reachesOutput(l.output)) l.role = "classifier";
    else l.role = isShortcut(l) ? "shortcut" : "body";
  }
}
