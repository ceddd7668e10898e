/**
 * Typed attribute readers (the caller passes the spec's default) and attribute constructors for builders.
 */
import { UserError } from "../errors.js";
import { AttrType, newAttribute, type AttributeProto, type GraphProto, type NodeProto } from "./proto.js";
import { makeTensorProto, readTensor, type Tensor } from "./tensor.js";

const nodeLabel = (n: NodeProto) => `node '${n.name || n.output[0] || n.opType}' (${n.opType})`;

function find(node: NodeProto, name: string, type: AttrType): AttributeProto | undefined {
  const a = node.attribute.find((x) => x.name === name);
  if (a && a.type !== type && a.type !== AttrType.UNDEFINED) {
    throw new UserError(`attribute '${name}' is ${AttrType[a.type]}, expected ${AttrType[type]}`, nodeLabel(node));
  }
  return a;
}

export const hasAttr = (node: NodeProto, name: string): boolean => node.attribute.some((a) => a.name === name);

export function attrInt(node: NodeProto, name: string, dflt: number): number;
export function attrInt(node: NodeProto, name: string): number | undefined;
export function attrInt(node: NodeProto, name: string, dflt?: number): number | undefined {
  const a = find(node, name, AttrType.INT);
  return a ? Number(a.i) : dflt;
}

export function attrInts(node: NodeProto, name: string, dflt: number[]): number[];
export function attrInts(node: NodeProto, name: string): number[] | undefined;
export function attrInts(node: NodeProto, name: string, dflt?: number[]): number[] | undefined {
  const a = find(node, name, AttrType.INTS);
  return a ? a.ints.map(Number) : dflt;
}

export function attrFloat(node: NodeProto, name: string, dflt: number): number;
export function attrFloat(node: NodeProto, name: string): number | undefined;
export function attrFloat(node: NodeProto, name: string, dflt?: number): number | undefined {
  const a = find(node, name, AttrType.FLOAT);
  return a ? a.f : dflt;
}

export function attrFloats(node: NodeProto, name: string, dflt: number[]): number[];
export function attrFloats(node: NodeProto, name: string): number[] | undefined;
export function attrFloats(node: NodeProto, name: string, dflt?: number[]): number[] | undefined {
  const a = find(node, name, AttrType.FLOATS);
  return a ? [...a.floats] : dflt;
}

export function attrString(node: NodeProto, name: string, dflt: string): string;
export function attrString(node: NodeProto, name: string): string | undefined;
export function attrString(node: NodeProto, name: string, dflt?: string): string | undefined {
  const a = find(node, name, AttrType.STRING);
  return a ? new TextDecoder().decode(a.s) : dflt;
}

export function attrTensor(node: NodeProto, name: string): Tensor | undefined {
  const a = find(node, name, AttrType.TENSOR);
  return a?.t ? readTensor(a.t) : undefined;
}

/** Marks a number as a FLOAT attribute (plain numbers become INT). */
export interface FloatAttr {
  float: number;
}
export interface FloatsAttr {
  floats: number[];
}
export const float = (x: number): FloatAttr => ({ float: x });
export const floats = (xs: number[]): FloatsAttr => ({ floats: xs });

/** number -> INT, number[] -> INTS, string -> STRING, Tensor -> TENSOR, float()/floats() -> FLOAT/FLOATS. */
export type AttrValue = number | number[] | string | Tensor | FloatAttr | FloatsAttr | GraphProto;
export type Attrs = Record<string, AttrValue | undefined>;

export function makeAttribute(name: string, v: AttrValue): AttributeProto {
  if (typeof v === "number") {
    if (!Number.isInteger(v)) throw new Error(`attribute '${name}': ${v} is not an integer; wrap floats with float()`);
    return newAttribute({ name, type: AttrType.INT, i: BigInt(v) });
  }
  if (Array.isArray(v)) return newAttribute({ name, type: AttrType.INTS, ints: v.map((x) => BigInt(x)) });
  if (typeof v === "string") return newAttribute({ name, type: AttrType.STRING, s: new TextEncoder().encode(v) });
  if ("float" in v) return newAttribute({ name, type: AttrType.FLOAT, f: v.float });
  if ("floats" in v) return newAttribute({ name, type: AttrType.FLOATS, floats: v.floats });
  if ("dtype" in v) return newAttribute({ name, type: AttrType.TENSOR, t: makeTensorProto("", v) });
  return newAttribute({ name, type: AttrType.GRAPH, g: v });
}

export function makeAttributes(attrs: Attrs = {}): AttributeProto[] {
  return Object.entries(attrs)
    .filter((e): e is [string, AttrValue] => e[1] !== undefined)
    .map(([k, v]) => makeAttribute(k, v));
}
