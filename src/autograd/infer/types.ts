/**
 * Element types of outputs that do not follow input 0, one function per kind of op (the op table, ../ops.ts,
 * says which op uses which; ops without one give their input 0's type).
 */
import { attrInt, attrTensor } from "../../onnx/attributes.js";
import { DataType, type NodeProto } from "../../onnx/proto.js";
import { onnxFromDtype } from "../../onnx/tensor.js";
import { constantNodeValue } from "./values.js";

/** Element type of output k of a node, given the types known so far. */
export type TypeFn = (n: NodeProto, k: number, typeOf: (v: string) => number | undefined) => number | undefined;

export const int64: TypeFn = () => DataType.INT64;
export const bool: TypeFn = () => DataType.BOOL;
/** Cast: its `to` attribute. */
export const castTo: TypeFn = (n) => attrInt(n, "to");
/** The type of input i (CastLike: 1, Where: 1, OneHot: 2). */
export const ofInput =
  (i: number): TypeFn =>
  (n, _k, typeOf) =>
    n.input[i] ? typeOf(n.input[i]!) : undefined;
/** ConstantOfShape: its value attribute's type, float32 without one. */
export const constantOfShape: TypeFn = (n) =>
  attrTensor(n, "value") ? n.attribute.find((a) => a.name === "value")?.t?.dataType : DataType.FLOAT;
export const constant: TypeFn = (n) => {
  const t = constantNodeValue(n);
  return t ? onnxFromDtype(t.dtype) : undefined;
};
/** Output 1 is of `second` (MaxPool/TopK indices int64, Dropout mask bool); output 0 follows input 0. */
export const secondOutput =
  (second: number): TypeFn =>
  (n, k, typeOf) =>
    k === 1 ? second : n.input[0] ? typeOf(n.input[0]) : undefined;
