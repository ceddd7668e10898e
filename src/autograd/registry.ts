/**
 * The one table of gradient rules (op type -> rule; TypeScript rejects a duplicate key) and the ops whose
 * outputs never carry a gradient, kept apart from ops that merely have no rule (those are errors).
 */
import type { GradRule, NonDifferentiable } from "./rule.js";
import * as ew from "./rules/elementwise.js";
import * as red from "./rules/reduce.js";
import * as conv from "./rules/conv.js";
import * as dropout from "./rules/dropout.js";
import * as mm from "./rules/matmul.js";
import * as norm from "./rules/normalization.js";
import * as pool from "./rules/pool.js";
import * as sm from "./rules/softmax.js";
import * as sh from "./rules/shape.js";

export const RULES: Readonly<Record<string, GradRule>> = {
  Abs: ew.abs,
  Add: ew.add,
  AveragePool: pool.averagePool,
  BatchNormalization: norm.batchNormalization,
  Cast: ew.cast,
  Clip: ew.clip,
  Concat: sh.concat,
  Conv: conv.conv,
  Div: ew.div,
  Dropout: dropout.dropout,
  Elu: ew.elu,
  Erf: ew.erf,
  Exp: ew.exp,
  Expand: sh.expand,
  Flatten: sh.flatten,
  Gather: sh.gather,
  Gelu: ew.gelu,
  Gemm: mm.gemm,
  GlobalAveragePool: pool.globalAveragePool,
  HardSigmoid: ew.hardSigmoid,
  HardSwish: ew.hardSwish,
  Identity: ew.identity,
  LayerNormalization: norm.layerNormalization,
  LeakyRelu: ew.leakyRelu,
  Log: ew.log,
  LogSoftmax: sm.logSoftmax,
  MatMul: mm.matMul,
  Max: ew.max,
  MaxPool: pool.maxPool,
  Mean: ew.mean,
  Min: ew.min,
  Mul: ew.mul,
  Neg: ew.neg,
  PRelu: ew.pRelu,
  Pad: sh.pad,
  Pow: ew.pow,
  Reciprocal: ew.reciprocal,
  ReduceMean: red.reduceMean,
  ReduceSum: red.reduceSum,
  Relu: ew.relu,
  Reshape: sh.reshape,
  Sigmoid: ew.sigmoid,
  Slice: sh.slice,
  Softmax: sm.softmax,
  Softplus: ew.softplus,
  Split: sh.split,
  Sqrt: ew.sqrt,
  Squeeze: sh.squeeze,
  Sub: ew.sub,
  Sum: ew.sum,
  Tanh: ew.tanh,
  Transpose: sh.transpose,
  Unsqueeze: sh.unsqueeze,
  Where: sh.where,
};

export const NON_DIFFERENTIABLE: NonDifferentiable = new Set([
  "Shape",
  "Size",
  "Constant",
  "ConstantOfShape",
  "Equal",
  "Less",
  "LessOrEqual",
  "Greater",
  "GreaterOrEqual",
  "Not",
  "And",
  "Or",
  "Xor",
  "Range",
  "NonZero",
  "OneHot",
  "ArgMax",
  "ArgMin",
  "IsNaN",
  "IsInf",
  "Sign",
  "Floor",
  "Ceil",
  "Round",
  "RandomNormal",
  "RandomUniform",
  "RandomNormalLike",
  "RandomUniformLike",
  "EyeLike",
]);
