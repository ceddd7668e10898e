/**
 * Which initializers of an inference graph are trainable parameters.
 *
 * A parameter is a float initializer that the forward uses as a weight: an input slot listed in
 * WEIGHT_SLOTS, reached directly or through view ops (Reshape, Transpose, Expand, ... as a class token or a
 * pre-transposed MatMul weight is). Elementwise ops (Add/Sub/Mul/Div) and Concat count only tensors with
 * more than one element, so scalar constants (GELU's 0.5, an epsilon, attention's 1/sqrt(d)) stay constants.
 * BatchNormalization's running mean/var are state but not parameters; integer initializers never are.
 */
import { UserError } from "../../errors.js";
import { DataType, type GraphProto, type NodeProto, type TensorProto } from "../../onnx/proto.js";

/** Input slots that hold weights, per op ("any" = every input, for tensors with > 1 element). */
const WEIGHT_SLOTS: Record<string, number[] | "any"> = {
  Conv: [1, 2],
  ConvTranspose: [1, 2],
  Gemm: [0, 1, 2],
  MatMul: [0, 1],
  BatchNormalization: [1, 2],
  LayerNormalization: [1, 2],
  InstanceNormalization: [1, 2],
  GroupNormalization: [1, 2],
  PRelu: [1],
  Gather: [0],
  Add: "any",
  Sub: "any",
  Mul: "any",
  Div: "any",
  Concat: "any",
};

/** Ops that pass a tensor's values through unchanged in another layout (input 0). */
const VIEW_OPS = new Set(["Identity", "Reshape", "Transpose", "Expand", "Flatten", "Squeeze", "Unsqueeze"]);

const numelOf = (t: TensorProto) => t.dims.reduce((a, d) => a * Number(d), 1);

function consumers(graph: GraphProto): Map<string, { node: NodeProto; slot: number }[]> {
  const out = new Map<string, { node: NodeProto; slot: number }[]>();
  for (const node of graph.node) {
    node.input.forEach((name, slot) => {
      if (!name) return;
      const list = out.get(name) ?? [];
      list.push({ node, slot });
      out.set(name, list);
    });
  }
  return out;
}

function usedAsWeight(
  name: string,
  bigEnough: boolean,
  uses: ReturnType<typeof consumers>,
  seen = new Set<string>(),
): boolean {
  if (seen.has(name)) return false;
  seen.add(name);
  for (const { node, slot } of uses.get(name) ?? []) {
    const slots = WEIGHT_SLOTS[node.opType];
    if (slots === "any" ? bigEnough : slots?.includes(slot)) return true;
    if (VIEW_OPS.has(node.opType) && slot === 0 && usedAsWeight(node.output[0]!, bigEnough, uses, seen)) return true;
  }
  return false;
}

/** The parameter names of `graph` in initializer order (see the file comment for the rule). */
export function findParameters(graph: GraphProto): string[] {
  const uses = consumers(graph);
  return graph.initializer
    .filter((t) => t.dataType === DataType.FLOAT && usedAsWeight(t.name, numelOf(t) > 1, uses))
    .map((t) => t.name);
}

/** Checks an explicit parameter list: every name must be a float32 initializer; lists every problem. */
export function checkParameters(graph: GraphProto, names: string[], file: string): void {
  const inits = new Map(graph.initializer.map((t) => [t.name, t]));
  const problems: string[] = [];
  for (const n of names) {
    const t = inits.get(n);
    if (!t) problems.push(`'${n}' is not an initializer`);
    else if (t.dataType !== DataType.FLOAT) problems.push(`'${n}' is ${DataType[t.dataType]}, expected FLOAT`);
  }
  if (problems.length) throw new UserError(`cannot train the requested parameters: ${problems.join("; ")}`, file);
}

/** A BatchNormalization node whose running statistics are initializers (so they become state). */
export interface BatchNormStats {
  node: NodeProto;
  mean: string;
  variance: string;
}

export function findBatchNormStats(graph: GraphProto): BatchNormStats[] {
  const inits = new Set(graph.initializer.map((t) => t.name));
  return graph.node
    .filter((n) => n.opType === "BatchNormalization" && inits.has(n.input[3] ?? "") && inits.has(n.input[4] ?? ""))
    .map((node) => ({ node, mean: node.input[3]!, variance: node.input[4]! }));
}
