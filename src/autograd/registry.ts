/**
 * The one table of gradient rules (op type -> rule; TypeScript rejects a duplicate key) and the ops whose
 * outputs never carry a gradient, kept apart from ops that merely have no rule (those are errors).
 */
import type { GradRule, NonDifferentiable } from "./rule.js";
import * as ew from "./rules/elementwise.js";
import * as red from "./rules/reduce.js";

export const RULES: Readonly<Record<string, GradRule>> = {
  Abs: ew.abs,
  Add: ew.add,
  Cast: ew.cast,
  Clip: ew.clip,
  Div: ew.div,
  Erf: ew.erf,
  Exp: ew.exp,
  Gelu: ew.gelu,
  Identity: ew.identity,
  LeakyRelu: ew.leakyRelu,
  Log: ew.log,
  Mul: ew.mul,
  Neg: ew.neg,
  Pow: ew.pow,
  Reciprocal: ew.reciprocal,
  ReduceMean: red.reduceMean,
  ReduceSum: red.reduceSum,
  Relu: ew.relu,
  Sigmoid: ew.sigmoid,
  Sqrt: ew.sqrt,
  Sub: ew.sub,
  Sum: ew.sum,
  Tanh: ew.tanh,
};

export const NON_DIFFERENTIABLE: NonDifferentiable = new Set([
  "Shape", "Size", "Constant", "ConstantOfShape", "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual",
  "Not", "And", "Or", "Xor", "Range", "NonZero", "OneHot", "ArgMax", "ArgMin", "IsNaN", "IsInf", "Sign",
  "Floor", "Ceil", "Round", "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "EyeLike",
]);
