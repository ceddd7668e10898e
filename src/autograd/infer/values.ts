/**
 * Values of the small integer tensors that exports compute shapes with (TorchScript's Shape -> Gather ->
 * Unsqueeze -> Concat -> Reshape, and Where(Equal(shape, -1), ones, shape) for expand), kept symbolic:
 * a known dim is a number, a named one a string, anything else null. Scalars are held as one entry.
 * One function per kind of op; the op table (../ops.ts) says which op uses which.
 */
import { attrFloat, attrFloats, attrInt, attrInts, attrTensor } from "../../onnx/attributes.js";
import type { Dims } from "../../onnx/graph-view.js";
import type { NodeProto } from "../../onnx/proto.js";
import { float32, int64, type Tensor } from "../../onnx/tensor.js";

export interface ValueContext {
  shape(value: string): Dims | undefined;
  constantValue(value: string): Tensor | undefined;
  /** Symbolic value of a small integer tensor inferred so far. */
  value(value: string): Dims | undefined;
  opset: number;
}

/** Symbolic value of output 0 of a node. */
export type ValueFn = (n: NodeProto, ctx: ValueContext) => Dims | undefined;

const MAX_LENGTH = 64;

/** The value of a Constant node, whichever attribute holds it (value, value_int(s), value_float(s)). */
export function constantNodeValue(n: NodeProto): Tensor | undefined {
  const t = attrTensor(n, "value");
  if (t) return t;
  const int = attrInt(n, "value_int");
  if (int !== undefined) return int64([], [int]);
  const ints = attrInts(n, "value_ints");
  if (ints) return int64([ints.length], ints);
  const f = attrFloat(n, "value_float");
  if (f !== undefined) return float32([], [f]);
  const fs = attrFloats(n, "value_floats");
  return fs ? float32([fs.length], fs) : undefined;
}

/** The symbolic value of a constant integer tensor (up to 64 elements). */
function constantInts(t: Tensor | undefined): Dims | undefined {
  if (!t || !["int64", "int32", "bool"].includes(t.dtype) || t.data.length > MAX_LENGTH) return undefined;
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

const at = (v: Dims, i: number): Dims[number] | undefined => v[i < 0 ? i + v.length : i];

const val = (n: NodeProto, ctx: ValueContext, i: number) =>
  n.input[i] ? (ctx.value(n.input[i]) ?? constantInts(ctx.constantValue(n.input[i]))) : undefined;

export function shape(n: NodeProto, ctx: ValueContext): Dims | undefined {
  const d = ctx.shape(n.input[0]!);
  if (!d) return undefined;
  return d.slice(attrInt(n, "start", 0), attrInt(n, "end"));
}

export function constant(n: NodeProto): Dims | undefined {
  return constantInts(constantNodeValue(n));
}

/** Identity, Cast, Squeeze, Unsqueeze: the same values (a scalar and a 1-element vector alike). */
export function passThrough(n: NodeProto, ctx: ValueContext): Dims | undefined {
  return val(n, ctx, 0);
}

export function gather(n: NodeProto, ctx: ValueContext): Dims | undefined {
  const [data, idx] = [val(n, ctx, 0), val(n, ctx, 1)];
  if (!data || !idx || attrInt(n, "axis", 0) !== 0) return undefined;
  const out = idx.map((i) => (typeof i === "number" ? at(data, i) : undefined));
  return out.every((d) => d !== undefined) ? (out as Dims) : undefined;
}

export function concat(n: NodeProto, ctx: ValueContext): Dims | undefined {
  const parts = n.input.map((_, i) => val(n, ctx, i));
  return parts.every((p) => p) ? (parts as Dims[]).flat() : undefined;
}

export function slice(n: NodeProto, ctx: ValueContext): Dims | undefined {
  const [data, starts, ends] = [val(n, ctx, 0), val(n, ctx, 1), val(n, ctx, 2)];
  const steps = val(n, ctx, 4);
  if (!data || !starts || !ends || (steps && steps.some((s) => s !== 1))) return undefined;
  const [s, e] = [starts[0], ends[0]];
  if (typeof s !== "number" || typeof e !== "number") return undefined;
  return data.slice(s, Math.min(e, data.length));
}

export function constantOfShape(n: NodeProto, ctx: ValueContext): Dims | undefined {
  const dims = val(n, ctx, 0);
  const fill = constantInts(attrTensor(n, "value")) ?? [0];
  if (!dims || dims.length !== 1 || typeof dims[0] !== "number" || dims[0] > MAX_LENGTH) return undefined;
  return new Array<number>(dims[0]).fill(Number(fill[0]));
}

export function equal(n: NodeProto, ctx: ValueContext): Dims | undefined {
  const [a, b] = [val(n, ctx, 0), val(n, ctx, 1)];
  if (!a || !b) return undefined;
  return elementwise(a, b, (x, y) =>
    typeof x === "number" && typeof y === "number"
      ? Number(x === y)
      : typeof x === "string" && typeof y === "number" && y < 0
        ? 0
        : null,
  );
}

export function where(n: NodeProto, ctx: ValueContext): Dims | undefined {
  const [c, a, b] = [val(n, ctx, 0), val(n, ctx, 1), val(n, ctx, 2)];
  if (!c || !a || !b) return undefined;
  const len = Math.max(c.length, a.length, b.length);
  const pick = (v: Dims, i: number) => (v.length === 1 ? v[0]! : v[i]!);
  return Array.from({ length: len }, (_, i) => (pick(c, i) === null ? null : pick(c, i) ? pick(a, i) : pick(b, i)));
}

const ARITH: Record<string, (x: number, y: number) => number> = {
  Mul: (x, y) => x * y,
  Add: (x, y) => x + y,
  Sub: (x, y) => x - y,
  Div: (x, y) => Math.trunc(x / y),
};

/** Mul, Add, Sub, Div (integer division truncates). */
export function arithmetic(n: NodeProto, ctx: ValueContext): Dims | undefined {
  const [a, b] = [val(n, ctx, 0), val(n, ctx, 1)];
  const f = ARITH[n.opType];
  if (!a || !b || !f) return undefined;
  return elementwise(a, b, (x, y) => (typeof x === "number" && typeof y === "number" ? f(x, y) : null));
}

function elementwise(a: Dims, b: Dims, f: (x: Dims[number], y: Dims[number]) => Dims[number]): Dims | undefined {
  if (a.length !== b.length && a.length !== 1 && b.length !== 1) return undefined;
  const len = Math.max(a.length, b.length);
  return Array.from({ length: len }, (_, i) => f(a.length === 1 ? a[0]! : a[i]!, b.length === 1 ? b[0]! : b[i]!));
}
