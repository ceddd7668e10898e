/**
 * What the neural-network rules (conv, pool, matmul, softmax, normalization, dropout) emit beyond
 * ../emit.ts: float constants in another value's element type, reshape/transpose shorthands, and the
 * static shapes these rules cannot do without (ConvTranspose needs its sizes as attributes).
 */
import { UserError } from "../../errors.js";
import { int64, numel } from "../../onnx/tensor.js";
import { staticDims, tensorOf } from "../emit.js";
import type { GradContext } from "../rule.js";

export const nodeLabel = (ctx: GradContext): string =>
  `node '${ctx.node.name || ctx.node.output[0]}' (${ctx.node.opType}, opset ${ctx.opset})`;

/** A constant holding `values` in the element type of `like`. */
export const constantLike = (ctx: GradContext, like: string, dims: number[], values: ArrayLike<number>): string =>
  ctx.constant(tensorOf(ctx.dtype(like), dims, values));

/** A constant of ones in the element type of `like`. */
export const onesLike = (ctx: GradContext, like: string, dims: number[]): string =>
  constantLike(ctx, like, dims, new Float64Array(numel(dims)).fill(1));

export const reshape = (ctx: GradContext, x: string, shape: number[]): string =>
  ctx.op("Reshape", [x, ctx.constant(int64([shape.length], shape))]);

export const transpose = (ctx: GradContext, x: string, perm: number[]): string => ctx.op("Transpose", [x], { perm });

/** Rank of a value; the rules that permute or reduce axes need it. */
export function rankOf(ctx: GradContext, value: string): number {
  const dims = ctx.shape(value);
  if (!dims)
    throw new UserError(
      `the gradient needs the rank of '${value}', which is unknown (give the engine shapes, e.g. from a probe run)`,
      nodeLabel(ctx),
    );
  return dims.length;
}

/** Static dims of a value from index `from` on (2: the spatial dims of NCHW); throws when unknown. */
export function requireDims(ctx: GradContext, value: string, from = 0): number[] {
  const tail = staticDims(ctx, value, from);
  if (tail) return tail;
  const dims = ctx.shape(value);
  const got = dims ? `[${dims.map((d) => d ?? "?").join(",")}]` : "unknown";
  throw new UserError(
    `the gradient needs static dims ${from}.. of '${value}' (shape ${got}); give the engine shapes, e.g. from a probe run`,
    nodeLabel(ctx),
  );
}

/** [from, from+1, ..., to-1] */
export const range = (from: number, to: number): number[] =>
  Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
