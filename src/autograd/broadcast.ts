/**
 * Reduces a gradient computed in a broadcast shape back to the shape of the input that was broadcast
 * (numpy rules: leading axes added, size-1 axes stretched). Static axes when both shapes are known,
 * otherwise a runtime path that finds the axes with Shape/Equal/NonZero (needs opset >= 13).
 */
import type { Dims } from "../onnx/graph-view.js";
import { int64 } from "../onnx/tensor.js";
import { UserError } from "../errors.js";
import { reduce, reshapeLike } from "./emit.js";
import type { GradContext } from "./rule.js";

type Ctx = Pick<GradContext, "op" | "ops" | "constant" | "shape" | "opset" | "dtype" | "axesAsInput">;

/** Axes of `outDims` to sum so the result has `inDims`; undefined when the shapes cannot be compared. */
function broadcastAxes(inDims: Dims, outDims: Dims): number[] | undefined {
  const lead = outDims.length - inDims.length;
  if (lead < 0) return undefined;
  const axes = Array.from({ length: lead }, (_, i) => i);
  for (let j = 0; j < inDims.length; j++) {
    const a = inDims[j];
    const b = outDims[j + lead];
    if (a === b && a !== null) continue;
    if (a === 1) axes.push(j + lead);
    else return undefined;
  }
  return axes;
}

export interface ReduceToShapeOptions {
  /** Gradient in the broadcast shape. */
  grad: string;
  /** The value whose shape the result must have. */
  like: string;
  /** Shape of `grad` when known (the forward output's shape). */
  gradDims?: Dims;
  /** For error messages. */
  nodeLabel: string;
}

export function reduceToShape(ctx: Ctx, { grad, like, gradDims, nodeLabel }: ReduceToShapeOptions): string {
  const inDims = ctx.shape(like);
  gradDims ??= ctx.shape(grad);
  const axes = inDims && gradDims ? broadcastAxes(inDims, gradDims) : undefined;
  if (inDims && gradDims && axes) {
    if (axes.length === 0) return grad;
    // only size-1 axes to drop (a broadcast over a batch of one): no sum, just the input's shape
    if (axes.every((a) => gradDims[a] === 1)) return reshapeLike(ctx, grad, like);
    const summed = reduce(ctx, "ReduceSum", grad, axes);
    return inDims.length === gradDims.length ? summed : reshapeLike(ctx, summed, like);
  }
  if (ctx.opset < 13) {
    throw new UserError(
      `cannot reduce a broadcast gradient without static shapes at opset ${ctx.opset} (needs opset >= 13 or known shapes)`,
      nodeLabel,
    );
  }
  const inShape = ctx.op("Shape", [like]);
  const gradShape = ctx.op("Shape", [grad]);
  const rankDiff = ctx.op("Sub", [ctx.op("Size", [gradShape]), ctx.op("Size", [inShape])]);
  const ones = ctx.op("ConstantOfShape", [ctx.op("Reshape", [rankDiff, ctx.constant(int64([1], [1]))])], {
    value: int64([1], [1]),
  });
  const padded = ctx.op("Concat", [ones, inShape], { axis: 0 });
  const isOne = ctx.op("Equal", [padded, ctx.constant(int64([], [1]))]);
  const dynAxes = ctx.op("Reshape", [ctx.op("NonZero", [isOne]), ctx.constant(int64([1], [-1]))]);
  const summed = ctx.op("ReduceSum", [grad, dynAxes], { keepdims: 1, noop_with_empty_axes: 1 });
  return ctx.op("Reshape", [summed, inShape]);
}
