/**
 * Values of the small integer tensors that exports compute shapes with (TorchScript's Shape -> Gather ->
 * Unsqueeze -> Concat -> Reshape, and Where(Equal(shape, -1), ones, shape) for expand), kept symbolic:
 * a known dim is a number, a named one a string, anything else null. Scalars are held as one entry.
 */
import { attrInt, attrTensor } from "../onnx/attributes.js";
import type { Dims } from "../onnx/graph-view.js";
import type { NodeProto } from "../onnx/proto.js";
import type { Tensor } from "../onnx/tensor.js";
import { constantNodeValue } from "./analysis.js";

export interface ValueContext {
  shape(value: string): Dims | undefined;
  constantValue(value: string): Tensor | undefined;
  /** Symbolic value of a small integer tensor inferred so far. */
  value(value: string): Dims | undefined;
  opset: number;
}

const MAX_LENGTH = 64;

/** The symbolic value of a constant integer tensor (up to 64 elements). */
function constantInts(t: Tensor | undefined): Dims | undefined {
  if (!t || !["int64", "int32", "bool"].includes(t.dtype) || t.data.length > MAX_LENGTH) return undefined;
  return Array.from(t.data as ArrayLike<number | bigint>, Number);
}

const at = (v: Dims, i: number): Dims[number] | undefined => v[i < 0 ? i + v.length : i];

/** Symbolic value of output 0 of `n`, or undefined when it does not follow. */
export function inferValue(n: NodeProto, ctx: ValueContext): Dims | undefined {
  const val = (i: number) =>
    n.input[i] ? (ctx.value(n.input[i]) ?? constantInts(ctx.constantValue(n.input[i]))) : undefined;
  switch (n.opType) {
    case "Shape": {
      const d = ctx.shape(n.input[0]!);
      if (!d) return undefined;
      const start = attrInt(n, "start", 0);
      const end = attrInt(n, "end");
      return d.slice(start, end);
    }
    case "Constant":
      return constantInts(constantNodeValue(n));
    case "Identity":
    case "Cast":
      return val(0);
    case "Unsqueeze":
    case "Squeeze":
      return val(0);
    case "Gather": {
      const [data, idx] = [val(0), val(1)];
      if (!data || !idx || attrInt(n, "axis", 0) !== 0) return undefined;
      const out = idx.map((i) => (typeof i === "number" ? at(data, i) : undefined));
      return out.every((d) => d !== undefined) ? (out as Dims) : undefined;
    }
    case "Concat": {
      const parts = n.input.map((_, i) => val(i));
      return parts.every((p) => p) ? (parts as Dims[]).flat() : undefined;
    }
    case "Slice": {
      const [data, starts, ends] = [val(0), val(1), val(2)];
      const steps = val(4);
      if (!data || !starts || !ends || (steps && steps.some((s) => s !== 1))) return undefined;
      const [s, e] = [starts[0], ends[0]];
      if (typeof s !== "number" || typeof e !== "number") return undefined;
      return data.slice(s, Math.min(e, data.length));
    }
    case "ConstantOfShape": {
      const shape = val(0);
      const fill = constantInts(attrTensor(n, "value")) ?? [0];
      if (!shape || shape.length !== 1 || typeof shape[0] !== "number" || shape[0] > MAX_LENGTH) return undefined;
      return new Array<number>(shape[0]).fill(Number(fill[0]));
    }
    case "Equal": {
      const [a, b] = [val(0), val(1)];
      if (!a || !b) return undefined;
      return elementwise(a, b, (x, y) =>
        typeof x === "number" && typeof y === "number"
          ? Number(x === y)
          : typeof x === "string" && typeof y === "number" && y < 0
            ? 0
            : null,
      );
    }
    case "Where": {
      const [c, a, b] = [val(0), val(1), val(2)];
      if (!c || !a || !b) return undefined;
      const len = Math.max(c.length, a.length, b.length);
      const pick = (v: Dims, i: number) => (v.length === 1 ? v[0]! : v[i]!);
      const out = Array.from({ length: len }, (_, i) =>
        pick(c, i) === null ? null : pick(c, i) ? pick(a, i) : pick(b, i),
      );
      return out;
    }
    case "Mul":
    case "Add":
    case "Sub":
    case "Div": {
      const [a, b] = [val(0), val(1)];
      if (!a || !b) return undefined;
      const f = {
        Mul: (x: number, y: number) => x * y,
        Add: (x: number, y: number) => x + y,
        Sub: (x: number, y: number) => x - y,
        Div: (x: number, y: number) => Math.trunc(x / y),
      }[n.opType];
      return elementwise(a, b, (x, y) => (typeof x === "number" && typeof y === "number" ? f(x, y) : null));
    }
    default:
      return undefined;
  }
}

function elementwise(a: Dims, b: Dims, f: (x: Dims[number], y: Dims[number]) => Dims[number]): Dims | undefined {
  if (a.length !== b.length && a.length !== 1 && b.length !== 1) return undefined;
  const len = Math.max(a.length, b.length);
  return Array.from({ length: len }, (_, i) => f(a.length === 1 ? a[0]! : a[i]!, b.length === 1 ? b[0]! : b[i]!));
}
