/**
 * Static output shapes, one function per kind of op (the op table, ../ops.ts, says which op uses which), as
 * far as they follow from known input shapes and constant inputs. Conservative: anything unsure is
 * `undefined` (unknown), never a guess. The engine uses them to check each rule's gradient against its
 * input's shape and to pick static paths.
 */
import { attrInt, attrInts } from "../../onnx/attributes.js";
import type { Dims } from "../../onnx/graph-view.js";
import type { NodeProto } from "../../onnx/proto.js";
import { numel, type Tensor } from "../../onnx/tensor.js";
import { normAxis } from "../emit.js";
import { ceilMode, readWindowAttrs, spatialDim } from "../rules/window.js";

type Dim = Dims[number];

export interface InferContext {
  shape(value: string): Dims | undefined;
  constantValue(value: string): Tensor | undefined;
  /** Symbolic values of small integer tensors (shape arithmetic), see values.ts. */
  value?(value: string): Dims | undefined;
  opset: number;
  /** The node's axes (attribute or input, by opset), or undefined when computed at run time (../ops.ts). */
  axes?(n: NodeProto): number[] | undefined;
}

/** Shape of output 0 (`shapes`: of every output) of a node. */
export type ShapeFn = (n: NodeProto, ctx: InferContext) => Dims | undefined;
export type ShapesFn = (n: NodeProto, ctx: InferContext) => (Dims | undefined)[];

const ints = (t: Tensor | undefined): number[] | undefined =>
  t ? Array.from(t.data as ArrayLike<number | bigint>, Number) : undefined;

const inShape = (n: NodeProto, ctx: InferContext, i: number): Dims | undefined =>
  n.input[i] ? ctx.shape(n.input[i]!) : undefined;

/** The value of input i as dims: its symbolic value (shape arithmetic) or a constant. */
const known = (n: NodeProto, ctx: InferContext, i: number): Dims | undefined =>
  n.input[i] ? (ctx.value?.(n.input[i]!) ?? ints(ctx.constantValue(n.input[i]!))) : undefined;

function broadcastDim(a: Dim, b: Dim): Dim | undefined {
  if (a === 1) return b;
  if (b === 1 || a === b) return a;
  if (typeof a === "number" && typeof b === "number") return undefined;
  return null;
}

function broadcastShapes(shapes: Dims[]): Dims | undefined {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dims = [];
  for (let j = 0; j < rank; j++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const k = j - (rank - s.length);
      if (k < 0) continue;
      const r = broadcastDim(d, s[k]!);
      if (r === undefined) return undefined;
      d = r;
    }
    out.push(d);
  }
  return out;
}

const normAxes = (axes: number[], rank: number) => axes.map((a) => normAxis(a, rank));

/** Output 0 has input 0's shape (elementwise unary ops, normalisations, Softmax, Dropout, ...). */
export function sameAsInput(n: NodeProto, ctx: InferContext): Dims | undefined {
  return inShape(n, ctx, 0);
}

/** numpy broadcasting of every input (elementwise binary and variadic ops, Where). */
export function broadcast(n: NodeProto, ctx: InferContext): Dims | undefined {
  const all = n.input.map((_, i) => inShape(n, ctx, i));
  return all.every((s) => s) ? broadcastShapes(all as Dims[]) : undefined;
}

export function transpose(n: NodeProto, ctx: InferContext): Dims | undefined {
  const x = inShape(n, ctx, 0);
  if (!x) return undefined;
  const perm = attrInts(n, "perm") ?? x.map((_, i) => x.length - 1 - i);
  return perm.map((p) => x[p]!);
}

export function reshape(n: NodeProto, ctx: InferContext): Dims | undefined {
  const x = inShape(n, ctx, 0);
  const target = known(n, ctx, 1);
  if (!target) return undefined;
  const out: Dims = target.map((d, i) => (d === 0 && attrInt(n, "allowzero", 0) === 0 ? (x?.[i] ?? null) : d));
  const neg = out.indexOf(-1);
  if (neg >= 0)
    out[neg] = x
      ? quotient(
          x,
          out.filter((_, i) => i !== neg),
        )
      : null;
  return out;
}

export function expand(n: NodeProto, ctx: InferContext): Dims | undefined {
  const x = inShape(n, ctx, 0);
  const target = known(n, ctx, 1);
  return x && target ? broadcastShapes([x, target]) : undefined;
}

export function constantOfShape(n: NodeProto, ctx: InferContext): Dims | undefined {
  const d = known(n, ctx, 0);
  return d && d.every((v) => v !== null) ? d : undefined;
}

export function gather(n: NodeProto, ctx: InferContext): Dims | undefined {
  const [x, idx] = [inShape(n, ctx, 0), inShape(n, ctx, 1)];
  if (!x || !idx) return undefined;
  const axis = normAxis(attrInt(n, "axis", 0), x.length);
  return [...x.slice(0, axis), ...idx, ...x.slice(axis + 1)];
}

export function slice(n: NodeProto, ctx: InferContext): Dims | undefined {
  const x = inShape(n, ctx, 0);
  if (!x || ctx.opset < 10) return undefined;
  const [starts, ends, axes, steps] = [
    known(n, ctx, 1),
    known(n, ctx, 2),
    n.input[3] ? known(n, ctx, 3) : x.map((_, i) => i),
    n.input[4] ? known(n, ctx, 4) : x.map(() => 1),
  ];
  if (![starts, ends, axes, steps].every((v) => v && v.every((d): d is number => typeof d === "number")))
    return undefined;
  const out = [...x];
  (axes as number[]).forEach((ax, k) => {
    const a = normAxis(ax, x.length);
    const dim = x[a];
    const step = (steps as number[])[k]!;
    if (typeof dim !== "number") {
      out[a] = null;
      return;
    }
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + dim : v, lo), hi);
    const [b, e] =
      step > 0
        ? [clamp((starts as number[])[k]!, 0, dim), clamp((ends as number[])[k]!, 0, dim)]
        : [clamp((starts as number[])[k]!, 0, dim - 1), clamp((ends as number[])[k]!, -1, dim - 1)];
    out[a] = Math.max(0, Math.ceil((e - b) / step));
  });
  return out;
}

export function constant(n: NodeProto, ctx: InferContext): Dims | undefined {
  return ctx.constantValue(n.output[0]!)?.dims;
}

/** Shape: [rank], or the length of the start..end window (opset 15). */
export function shapeOp(n: NodeProto, ctx: InferContext): Dims | undefined {
  const x = inShape(n, ctx, 0);
  if (!x) return undefined;
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + x.length : v, 0), x.length);
  return [Math.max(0, clamp(attrInt(n, "end", x.length)) - clamp(attrInt(n, "start", 0)))];
}

/** Size: a scalar. */
export function scalar(): Dims {
  return [];
}

/** ReduceSum, ReduceMean, ...: keepdims (default 1), noop_with_empty_axes (axes as an input only). */
export function reduce(n: NodeProto, ctx: InferContext): Dims | undefined {
  const x = inShape(n, ctx, 0);
  const axes = ctx.axes?.(n);
  if (!x || !axes) return undefined;
  if (axes.length === 0 && attrInt(n, "noop_with_empty_axes", 0) === 1) return x;
  const set = new Set(axes.length ? normAxes(axes, x.length) : x.map((_, i) => i));
  const keep = attrInt(n, "keepdims", 1) === 1;
  return keep ? x.map((d, i) => (set.has(i) ? 1 : d)) : x.filter((_, i) => !set.has(i));
}

export function unsqueeze(n: NodeProto, ctx: InferContext): Dims | undefined {
  const x = inShape(n, ctx, 0);
  const axes = ctx.axes?.(n);
  if (!x || !axes) return undefined;
  const rank = x.length + axes.length;
  const set = new Set(normAxes(axes, rank));
  const rest = [...x];
  return Array.from({ length: rank }, (_, i) => (set.has(i) ? 1 : rest.shift()!));
}

export function squeeze(n: NodeProto, ctx: InferContext): Dims | undefined {
  const x = inShape(n, ctx, 0);
  const axes = ctx.axes?.(n);
  if (!x || !axes || axes.length === 0) return undefined;
  const set = new Set(normAxes(axes, x.length));
  return x.filter((_, i) => !set.has(i));
}

export function concat(n: NodeProto, ctx: InferContext): Dims | undefined {
  const all = n.input.map((_, i) => inShape(n, ctx, i));
  if (!all.every((s) => s)) return undefined;
  const shapes = all as Dims[];
  const axis = normAxis(attrInt(n, "axis", 0), shapes[0]!.length);
  const sizes = shapes.map((s) => s[axis]);
  const total = sizes.every((d): d is number => typeof d === "number") ? sizes.reduce((a, b) => a + b, 0) : null;
  return shapes[0]!.map((d, i) => (i === axis ? total : d));
}

export function flatten(n: NodeProto, ctx: InferContext): Dims | undefined {
  const x = inShape(n, ctx, 0);
  if (!x) return undefined;
  const axis = normAxis(attrInt(n, "axis", 1), x.length);
  return [product(x.slice(0, axis)), product(x.slice(axis))];
}

/** GlobalAveragePool, GlobalMaxPool: [N, C, 1, ...]. */
export function globalPool(n: NodeProto, ctx: InferContext): Dims | undefined {
  const x = inShape(n, ctx, 0);
  return x ? [...x.slice(0, 2), ...x.slice(2).map(() => 1)] : undefined;
}

export function gemm(n: NodeProto, ctx: InferContext): Dims | undefined {
  const [a, b] = [inShape(n, ctx, 0), inShape(n, ctx, 1)];
  if (!a || !b || a.length !== 2 || b.length !== 2) return undefined;
  return [a[attrInt(n, "transA", 0) ? 1 : 0]!, b[attrInt(n, "transB", 0) ? 0 : 1]!];
}

export function matMul(n: NodeProto, ctx: InferContext): Dims | undefined {
  const [a, b] = [inShape(n, ctx, 0), inShape(n, ctx, 1)];
  if (!a || !b || a.length < 2 || b.length < 2) return undefined;
  const batch = broadcastShapes([a.slice(0, -2), b.slice(0, -2)]);
  return batch ? [...batch, a[a.length - 2]!, b[b.length - 1]!] : undefined;
}

/** Conv / MaxPool / AveragePool (explicit pads or auto_pad, strides, dilations, ceil_mode). */
export function window(n: NodeProto, ctx: InferContext): Dims | undefined {
  const x = inShape(n, ctx, 0);
  if (!x) return undefined;
  const w = inShape(n, ctx, 1);
  const spatial = x.length - 2;
  const kernel = n.opType === "Conv" ? w?.slice(2) : attrInts(n, "kernel_shape");
  if (!kernel || kernel.length !== spatial || !kernel.every((k): k is number => typeof k === "number"))
    return undefined;
  const attrs = readWindowAttrs(n, spatial);
  const channels = n.opType === "Conv" ? (w?.[0] ?? null) : x[1]!;
  const sizes = x
    .slice(2)
    .map((d, i) => (typeof d === "number" ? spatialDim(attrs, kernel, i, d, ceilMode(n)).output : null));
  return [x[0]!, channels, ...sizes];
}

/** Split: sizes from the `split` input/attribute (by opset, ../ops.ts), else equal parts. */
export function split(n: NodeProto, ctx: InferContext): (Dims | undefined)[] {
  const x = inShape(n, ctx, 0);
  if (!x) return [];
  const axis = normAxis(attrInt(n, "axis", 0), x.length);
  const count = n.output.length;
  const total = x[axis];
  let sizes = ctx.axes?.(n);
  if ((!sizes || sizes.length === 0) && typeof total === "number") {
    const each = Math.ceil(total / count);
    sizes = Array.from({ length: count }, (_, k) => Math.min(each, Math.max(total - k * each, 0)));
  }
  if (!sizes || sizes.length === 0) return [];
  return sizes.map((s) => x.map((d, i) => (i === axis ? s : d)));
}

/** numel(x) / numel(rest), cancelling named dims that appear in both; null when it does not resolve. */
function quotient(x: Dims, rest: Dims): Dim {
  const left = [...x];
  const right: number[] = [];
  for (const d of rest) {
    const k = typeof d === "string" ? left.indexOf(d) : -1;
    if (k >= 0) left.splice(k, 1);
    else if (typeof d === "number") right.push(d);
    else return null;
  }
  const num = product(left);
  return typeof num === "number" ? num / numel(right) : null;
}

function product(d: Dims): Dim {
  return d.every((v): v is number => typeof v === "number") ? numel(d) : null;
}

/** Whether two shapes are certainly different (a known dim differs, or the ranks do). */
export function shapesConflict(a: Dims, b: Dims): boolean {
  if (a.length !== b.length) return true;
  return a.some((d, i) => typeof d === "number" && typeof b[i] === "number" && d !== b[i]);
}
