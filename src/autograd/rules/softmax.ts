/**
 * Softmax and LogSoftmax gradients. From opset 13 the op normalises along one axis (default -1); before,
 * the input is coerced to 2-D at `axis` (default 1) and normalised over all the trailing axes together.
 */
import { attrInt } from "../../onnx/attributes.js";
import type { GradContext, GradRule } from "../rule.js";
import { normAxis, reduce } from "../emit.js";
import { range, rankOf } from "./nn-emit.js";

/** The axes the forward op normalised over. */
function softmaxAxes(ctx: GradContext): number[] {
  if (ctx.opset >= 13) return [attrInt(ctx.node, "axis", -1)];
  const rank = rankOf(ctx, ctx.I(0));
  return range(normAxis(attrInt(ctx.node, "axis", 1), rank), rank);
}

// dX = Y * (dY - sum_axis(dY * Y))
export const softmax: GradRule = {
  grad(ctx) {
    const [y, dY] = [ctx.O(0), ctx.GO(0)];
    if (!dY) return [];
    const dot = reduce(ctx, "ReduceSum", ctx.op("Mul", [dY, y]), softmaxAxes(ctx), 1);
    return [ctx.op("Mul", [y, ctx.op("Sub", [dY, dot])])];
  },
};

// dX = dY - exp(Y) * sum_axis(dY)
export const logSoftmax: GradRule = {
  grad(ctx) {
    const [y, dY] = [ctx.O(0), ctx.GO(0)];
    if (!dY) return [];
    const total = reduce(ctx, "ReduceSum", dY, softmaxAxes(ctx), 1);
    return [ctx.op("Sub", [dY, ctx.op("Mul", [ctx.op("Exp", [y]), total])])];
  },
};
