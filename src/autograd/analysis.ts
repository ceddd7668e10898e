/**
 * What the engine must differentiate: element types of every value (declared, or inferred from producers),
 * the values a `wrt` reaches (active) and the values that reach the loss (relevant), both along
 * differentiable float edges only. A node is differentiated when one of its outputs is active and relevant.
 */
import type { GraphView } from "../onnx/graph-view.js";
import { DataType, type NodeProto } from "../onnx/proto.js";
import { readTensor, type Tensor } from "../onnx/tensor.js";
import { constantNodeValue } from "./infer/values.js";
import { producedType } from "./ops.js";
import type { GradRule } from "./rule.js";

const FLOAT_TYPES = new Set<number>([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.BFLOAT16]);
export const isFloatType = (t: number | undefined): boolean => t !== undefined && FLOAT_TYPES.has(t);
export const isAiOnnx = (n: NodeProto): boolean => !n.domain || n.domain === "ai.onnx";

export interface Analysis {
  elemType: Map<string, number>;
  active: Set<string>;
  relevant: Set<string>;
  /** Forward nodes to differentiate, in reverse topological order. */
  backwardOrder: NodeProto[];
  constantValue: (value: string) => Tensor | undefined;
}

export interface AnalyzeOptions {
  view: GraphView;
  loss: string;
  wrt: string[];
  rules: Readonly<Record<string, GradRule>>;
  nonDifferentiable: ReadonlySet<string>;
}

export function analyze({ view, loss, wrt, rules, nonDifferentiable }: AnalyzeOptions): Analysis {
  const order = view.topoOrder();
  const elemType = new Map<string, number>();
  const declared = (v: string) => view.elemType(v);
  for (const t of view.graph.initializer) elemType.set(t.name, t.dataType);
  for (const v of view.inputNames) {
    const t = declared(v);
    if (t !== undefined) elemType.set(v, t);
  }
  for (const n of order) {
    n.output.forEach((o, k) => {
      if (!o) return;
      const t = declared(o) ?? producedType(n, k, (v) => elemType.get(v));
      if (t !== undefined) elemType.set(o, t);
    });
  }
  const isFloat = (v: string) => isFloatType(elemType.get(v));
  const diffInputs = (n: NodeProto): number[] => {
    if (isAiOnnx(n) && nonDifferentiable.has(n.opType)) return [];
    const skip = new Set(isAiOnnx(n) ? (rules[n.opType]?.nonDifferentiableInputs ?? []) : []);
    return n.input.map((_, i) => i).filter((i) => n.input[i] && !skip.has(i));
  };
  const diffOutputs = (n: NodeProto): number[] => {
    if (isAiOnnx(n) && nonDifferentiable.has(n.opType)) return [];
    const skip = new Set(isAiOnnx(n) ? (rules[n.opType]?.nonDifferentiableOutputs ?? []) : []);
    return n.output.map((_, k) => k).filter((k) => n.output[k] && !skip.has(k));
  };

  const active = new Set(wrt.filter(isFloat));
  for (const n of order) {
    if (!diffInputs(n).some((i) => active.has(n.input[i]!))) continue;
    for (const k of diffOutputs(n)) if (isFloat(n.output[k]!)) active.add(n.output[k]!);
  }
  const relevant = new Set<string>(isFloat(loss) ? [loss] : []);
  const backwardOrder: NodeProto[] = [];
  for (const n of [...order].reverse()) {
    const outs = diffOutputs(n).map((k) => n.output[k]!);
    if (!outs.some((o) => relevant.has(o) && active.has(o))) continue;
    backwardOrder.push(n);
    for (const i of diffInputs(n)) if (isFloat(n.input[i]!)) relevant.add(n.input[i]!);
  }
  return { elemType, active, relevant, backwardOrder, constantValue: collectConstants(view, order) };
}

/** Constant values by name, decoded on first use only (a ResNet's weights never are). */
function collectConstants(view: GraphView, order: NodeProto[]): (value: string) => Tensor | undefined {
  const inputs = new Set(view.graph.input.map((v) => v.name));
  const protos = new Map(view.graph.initializer.filter((t) => !inputs.has(t.name)).map((t) => [t.name, t]));
  const constantNodes = new Map(
    order.filter((n) => n.opType === "Constant" && isAiOnnx(n)).map((n) => [n.output[0]!, n]),
  );
  const cache = new Map<string, Tensor | undefined>();
  return (value) => {
    if (!cache.has(value)) {
      const t = protos.get(value);
      const n = constantNodes.get(value);
      cache.set(value, t ? readTensor(t) : n ? constantNodeValue(n) : undefined);
    }
    return cache.get(value);
  };
}
