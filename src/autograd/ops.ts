/**
 * The one home of per-op knowledge: for each ONNX op (ai.onnx) its gradient rule, or that its outputs never
 * carry a gradient; how to infer its output shapes, element types and (for small integer tensors) values;
 * and the opset from which its axes are input 1 instead of an attribute. Adding an op is one entry here
 * (TypeScript rejects a duplicate key) plus its gradcheck case; the rule itself lives in a family file under
 * rules/, the inference functions under infer/.
 *
 * An op with neither `grad` nor `noGradient` (ConvTranspose, ScatterElements: emitted by rules, or
 * inference-only facts) is unsupported on a gradient path: the engine refuses it naming the node.
 */
import { attrInts } from "../onnx/attributes.js";
import type { Dims } from "../onnx/graph-view.js";
import type { NodeProto } from "../onnx/proto.js";
import type { Tensor } from "../onnx/tensor.js";
import * as S from "./infer/shapes.js";
import * as T from "./infer/types.js";
import * as V from "./infer/values.js";
import type { GradRule, NonDifferentiable } from "./rule.js";
import * as conv from "./rules/conv.js";
import * as dropout from "./rules/dropout.js";
import * as ew from "./rules/elementwise.js";
import * as mm from "./rules/matmul.js";
import * as norm from "./rules/normalization.js";
import * as pool from "./rules/pool.js";
import * as red from "./rules/reduce.js";
import * as sh from "./rules/shape.js";
import * as sm from "./rules/softmax.js";
import { DataType } from "../onnx/proto.js";

export interface OpSpec {
  /** The gradient rule (rules/). */
  grad?: GradRule;
  /** The op's outputs never carry a gradient (shape arithmetic, comparisons, constants, random draws). */
  noGradient?: true;
  /** Static shape of output 0 (infer/shapes.ts); `shapes` for ops with several shaped outputs. */
  shape?: S.ShapeFn;
  shapes?: S.ShapesFn;
  /** Element type of an output when it does not follow input 0 (infer/types.ts). */
  type?: T.TypeFn;
  /** Symbolic value of output 0 when it is a small integer tensor (infer/values.ts). */
  value?: V.ValueFn;
  /** Opset from which the op's axes (Split: its split sizes) are input 1 rather than an attribute. */
  axesInput?: number;
}

const same = S.sameAsInput;
const bcast = S.broadcast;
const bool = { noGradient: true, type: T.bool } as const;

export const OPS: Readonly<Record<string, OpSpec>> = {
  Abs: { grad: ew.abs, shape: same },
  Add: { grad: ew.add, shape: bcast, value: V.arithmetic },
  And: { ...bool, shape: bcast },
  ArgMax: { noGradient: true, type: T.int64 },
  ArgMin: { noGradient: true, type: T.int64 },
  AveragePool: { grad: pool.averagePool, shape: S.window },
  BatchNormalization: { grad: norm.batchNormalization, shape: same },
  Cast: { grad: ew.cast, shape: same, type: T.castTo, value: V.passThrough },
  CastLike: { shape: same, type: T.ofInput(1) },
  Ceil: { noGradient: true, shape: same },
  Clip: { grad: ew.clip, shape: same },
  Concat: { grad: sh.concat, shape: S.concat, value: V.concat },
  Constant: { noGradient: true, shape: S.constant, type: T.constant, value: V.constant },
  ConstantOfShape: { noGradient: true, shape: S.constantOfShape, type: T.constantOfShape, value: V.constantOfShape },
  Conv: { grad: conv.conv, shape: S.window },
  ConvTranspose: {},
  Div: { grad: ew.div, shape: bcast, value: V.arithmetic },
  Dropout: { grad: dropout.dropout, shape: same, type: T.secondOutput(DataType.BOOL) },
  Elu: { grad: ew.elu, shape: same },
  Equal: { ...bool, shape: bcast, value: V.equal },
  Erf: { grad: ew.erf, shape: same },
  Exp: { grad: ew.exp, shape: same },
  Expand: { grad: sh.expand, shape: S.expand },
  EyeLike: { noGradient: true },
  Flatten: { grad: sh.flatten, shape: S.flatten },
  Floor: { noGradient: true, shape: same },
  Gather: { grad: sh.gather, shape: S.gather, value: V.gather },
  Gelu: { grad: ew.gelu, shape: same },
  Gemm: { grad: mm.gemm, shape: S.gemm },
  GlobalAveragePool: { grad: pool.globalAveragePool, shape: S.globalPool },
  GlobalMaxPool: { shape: S.globalPool },
  Greater: { ...bool, shape: bcast },
  GreaterOrEqual: { ...bool, shape: bcast },
  HardSigmoid: { grad: ew.hardSigmoid, shape: same },
  HardSwish: { grad: ew.hardSwish, shape: same },
  Identity: { grad: ew.identity, shape: same, value: V.passThrough },
  IsInf: { ...bool, shape: same },
  IsNaN: { ...bool, shape: same },
  LayerNormalization: { grad: norm.layerNormalization, shape: same },
  LeakyRelu: { grad: ew.leakyRelu, shape: same },
  Less: { ...bool, shape: bcast },
  LessOrEqual: { ...bool, shape: bcast },
  Log: { grad: ew.log, shape: same },
  LogSoftmax: { grad: sm.logSoftmax, shape: same },
  MatMul: { grad: mm.matMul, shape: S.matMul },
  Max: { grad: ew.max, shape: bcast },
  MaxPool: { grad: pool.maxPool, shape: S.window, type: T.secondOutput(DataType.INT64) },
  Mean: { grad: ew.mean, shape: bcast },
  Min: { grad: ew.min, shape: bcast },
  Mul: { grad: ew.mul, shape: bcast, value: V.arithmetic },
  Neg: { grad: ew.neg, shape: same },
  NonZero: { noGradient: true, type: T.int64 },
  Not: { ...bool, shape: same },
  OneHot: { noGradient: true, type: T.ofInput(2) },
  Or: { ...bool, shape: bcast },
  PRelu: { grad: ew.pRelu, shape: bcast },
  Pad: { grad: sh.pad },
  Pow: { grad: ew.pow, shape: bcast },
  RandomNormal: { noGradient: true },
  RandomNormalLike: { noGradient: true },
  RandomUniform: { noGradient: true },
  RandomUniformLike: { noGradient: true },
  Range: { noGradient: true },
  Reciprocal: { grad: ew.reciprocal, shape: same },
  ReduceL2: { axesInput: 18 },
  ReduceLogSumExp: { axesInput: 18 },
  ReduceMax: { axesInput: 18 },
  ReduceMean: { grad: red.reduceMean, shape: S.reduce, axesInput: 18 },
  ReduceMin: { axesInput: 18 },
  ReduceProd: { axesInput: 18 },
  ReduceSum: { grad: red.reduceSum, shape: S.reduce, axesInput: 13 },
  ReduceSumSquare: { axesInput: 18 },
  Relu: { grad: ew.relu, shape: same },
  Reshape: { grad: sh.reshape, shape: S.reshape },
  Round: { noGradient: true, shape: same },
  ScatterElements: {},
  Selu: { shape: same },
  Shape: { noGradient: true, shape: S.shapeOp, type: T.int64, value: V.shape },
  Sigmoid: { grad: ew.sigmoid, shape: same },
  Sign: { noGradient: true, shape: same },
  Size: { noGradient: true, shape: S.scalar, type: T.int64 },
  Slice: { grad: sh.slice, shape: S.slice, value: V.slice },
  Softmax: { grad: sm.softmax, shape: same },
  Softplus: { grad: ew.softplus, shape: same },
  Split: { grad: sh.split, shapes: S.split, axesInput: 13 },
  Sqrt: { grad: ew.sqrt, shape: same },
  Squeeze: { grad: sh.squeeze, shape: S.squeeze, value: V.passThrough, axesInput: 13 },
  Sub: { grad: ew.sub, shape: bcast, value: V.arithmetic },
  Sum: { grad: ew.sum, shape: bcast },
  Tanh: { grad: ew.tanh, shape: same },
  TopK: { type: T.secondOutput(DataType.INT64) },
  Transpose: { grad: sh.transpose, shape: S.transpose },
  Unsqueeze: { grad: sh.unsqueeze, shape: S.unsqueeze, value: V.passThrough, axesInput: 13 },
  Where: { grad: sh.where, shape: bcast, type: T.ofInput(1), value: V.where },
  Xor: { ...bool, shape: bcast },
};

const isAiOnnx = (n: NodeProto): boolean => !n.domain || n.domain === "ai.onnx";
const specOf = (n: NodeProto): OpSpec | undefined => (isAiOnnx(n) ? OPS[n.opType] : undefined);

/** op type -> gradient rule, for the ops that have one. */
export const RULES: Readonly<Record<string, GradRule>> = Object.fromEntries(
  Object.entries(OPS).flatMap(([op, s]) => (s.grad ? [[op, s.grad]] : [])),
);

/** Ops whose outputs never carry a gradient, kept apart from ops that merely have no rule (errors). */
export const NON_DIFFERENTIABLE: NonDifferentiable = new Set(
  Object.entries(OPS).flatMap(([op, s]) => (s.noGradient ? [op] : [])),
);

/** Whether `opType` takes its axes (Split: split sizes) as input 1 at `opset`. */
export const axesAsInput = (opType: string, opset: number): boolean => opset >= (OPS[opType]?.axesInput ?? Infinity);

/**
 * The node's axes (Split: split sizes): the attribute before the op's `axesInput` opset, input 1 from then on
 * ([] when absent); undefined when input 1 is computed at run time.
 */
export function nodeAxes(
  n: NodeProto,
  opset: number,
  constantValue: (v: string) => Tensor | undefined,
): number[] | undefined {
  if (!axesAsInput(n.opType, opset)) return attrInts(n, n.opType === "Split" ? "split" : "axes") ?? [];
  if (!n.input[1]) return [];
  const t = constantValue(n.input[1]);
  return t ? Array.from(t.data as ArrayLike<number | bigint>, Number) : undefined;
}

/** Shapes of the node's outputs (those that follow; Split gives each of its outputs). */
export function inferShapes(n: NodeProto, ctx: S.InferContext): (Dims | undefined)[] {
  const spec = specOf(n);
  const full = { ...ctx, axes: (m: NodeProto) => nodeAxes(m, ctx.opset, ctx.constantValue) };
  if (spec?.shapes) return spec.shapes(n, full);
  return [spec?.shape?.(n, full)];
}

/** Symbolic value of output 0 of a small-integer-tensor node, or undefined. */
export function inferValue(n: NodeProto, ctx: V.ValueContext): Dims | undefined {
  return specOf(n)?.value?.(n, ctx);
}

/** Element type of output `k` of `n` (input 0's type unless the op says otherwise). */
export function producedType(n: NodeProto, k: number, typeOf: (v: string) => number | undefined): number | undefined {
  const fn = specOf(n)?.type;
  if (fn) return fn(n, k, typeOf);
  return n.input[0] ? typeOf(n.input[0]) : undefined;
}
