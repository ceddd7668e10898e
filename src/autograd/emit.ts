/**
 * Opset-aware shorthands for the nodes gradient rules emit most (axes as an attribute or input 1, as the op
 * table says for the context's opset: ctx.axesAsInput), and shape helpers that use a constant when the
 * static shape is known and a runtime Shape node otherwise.
 */
import { float32ToHalf, int64, zeros, type DType, type Tensor } from "../onnx/tensor.js";
import type { GradContext } from "./rule.js";

type Ctx = Pick<GradContext, "op" | "ops" | "constant" | "shape" | "opset" | "dtype" | "axesAsInput">;

/** Normalises a possibly negative axis. */
export const normAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

/** A reduction over constant `axes` (keepdims default 1); `x` itself when there are none. */
export function reduce(ctx: Ctx, opType: string, x: string, axes: number[], keepdims = 1): string {
  if (axes.length === 0) return x;
  if (ctx.axesAsInput(opType)) return ctx.op(opType, [x, ctx.constant(int64([axes.length], axes))], { keepdims });
  return ctx.op(opType, [x], { axes, keepdims });
}

export function unsqueeze(ctx: Ctx, x: string, axes: number[]): string {
  if (ctx.axesAsInput("Unsqueeze")) return ctx.op("Unsqueeze", [x, ctx.constant(int64([axes.length], axes))]);
  return ctx.op("Unsqueeze", [x], { axes });
}

export function squeeze(ctx: Ctx, x: string, axes: number[]): string {
  if (ctx.axesAsInput("Squeeze")) return ctx.op("Squeeze", [x, ctx.constant(int64([axes.length], axes))]);
  return ctx.op("Squeeze", [x], { axes });
}

/** Splits `x` along `axis` into pieces of the given constant sizes. */
export function split(ctx: Ctx, x: string, sizes: number[], axis: number): string[] {
  if (ctx.axesAsInput("Split"))
    return ctx.ops("Split", [x, ctx.constant(int64([sizes.length], sizes))], sizes.length, { axis });
  return ctx.ops("Split", [x], sizes.length, { axis, split: sizes });
}

/** Static dims of `value` from index `from` on (2: the spatial dims of NCHW) when every one is a number. */
export function staticDims(ctx: Pick<GradContext, "shape">, value: string, from = 0): number[] | undefined {
  const d = ctx.shape(value)?.slice(from);
  return d && d.every((x): x is number => typeof x === "number") ? d : undefined;
}

/**
 * onnxruntime 1.29's CPU broadcast runs one inner loop per contiguous span of the larger operand that meets one
 * value of the smaller: a per-channel [1, C, 1, 1] operand against [N, C, H, W] gives spans of H*W values, and a
 * rank-0 scalar against a tensor with trailing unit dims ([512, 256, 1, 1]) spans of one value. Below 64 values a
 * span the loop's overhead is most of the time (scripts/perf/broadcast-spans.ts: a Mul 9x slower at 2x2 maps,
 * 1.7-3.4x at 4x4); at 8x8 the gain of spreading was within the noise of a whole step, at 16x16 none
 * (docs/PERFORMANCE.md, fifth session).
 */
export const SHORT_SPAN = 64;

/**
 * A per-channel operand ([1, C, 1, ...] against values of `dims` [N, C, ...spatial]) expanded to [1, C, ...spatial]
 * when the maps are small (fewer than SHORT_SPAN pixels, static dims), so that the broadcast runs over the batch
 * only, in spans of C*H*W values; `v` itself otherwise. The same values either way.
 */
export function spreadPerChannel(
  sink: Pick<GradContext, "op" | "constant">,
  v: string,
  dims: readonly (number | string | null)[] | undefined,
): string {
  const [, channels, ...spatial] = dims ?? [];
  if (typeof channels !== "number" || spatial.length === 0) return v;
  if (!spatial.every((d): d is number => typeof d === "number")) return v;
  if (spatial.reduce((a, b) => a * b, 1) >= SHORT_SPAN) return v;
  return sink.op("Expand", [v, sink.constant(int64([spatial.length + 2], [1, channels, ...spatial]))]);
}

/** A scalar constant of `like`'s element type and rank (shape [1, ..., 1]; rank 0 when unknown), see SHORT_SPAN. */
export function rankedScalar(
  ctx: Pick<GradContext, "constant" | "shape" | "dtype">,
  value: number,
  like: string,
): string {
  const rank = ctx.shape(like)?.length ?? 0;
  return ctx.constant(tensorOf(ctx.dtype(like), Array<number>(rank).fill(1), [value]));
}

/** A 1-D int64 value holding the shape of `value`: a constant when known, else a Shape node. */
export function shapeOf(ctx: Ctx, value: string): string {
  const d = staticDims(ctx, value);
  return d ? ctx.constant(int64([d.length], d)) : ctx.op("Shape", [value]);
}

/** `x` reshaped to the shape of `like`. */
export const reshapeLike = (ctx: Ctx, x: string, like: string): string => ctx.op("Reshape", [x, shapeOf(ctx, like)]);

/** Zeros with the shape and element type of `like`. */
export function zerosLike(ctx: Ctx, like: string): string {
  return ctx.op("ConstantOfShape", [shapeOf(ctx, like)], { value: zeros(ctx.dtype(like), [1]) });
}

/** A tensor of `dtype` holding `values`: float16 as half bits, int64 as bigints, other types as float32. */
export function tensorOf(dtype: DType, dims: number[], values: ArrayLike<number>): Tensor {
  if (dtype === "float64") return { dtype, dims, data: Float64Array.from(values) };
  if (dtype === "float16") return { dtype, dims, data: float32ToHalf(Float32Array.from(values)) };
  if (dtype === "int64") return { dtype, dims, data: BigInt64Array.from(Array.from(values, (v) => BigInt(v))) };
  return { dtype: "float32", dims, data: Float32Array.from(values) };
}
