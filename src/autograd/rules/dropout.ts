/**
 * Dropout gradient. A train step runs Dropout (opset >= 12) with a training_mode input and the mask output;
 * the mask the forward drew is what the gradient uses, so the backward never draws again. Without a
 * training_mode input (or before opset 12) Dropout is the identity, and so is its gradient.
 */
import { UserError } from "../../errors.js";
import { onnxFromDtype } from "../../onnx/tensor.js";
import type { GradContext, GradRule } from "../rule.js";
import { nodeLabel } from "./nn-emit.js";

/** 1/(1-ratio) in dY's type: a constant when ratio is one (default 0.5), else computed at run time. */
function keepScale(ctx: GradContext, dY: string): string {
  const ratio = ctx.inputCount > 1 ? ctx.I(1) : "";
  const known = ratio ? ctx.constantValue(ratio) : undefined;
  if (!ratio || known) return ctx.scalar(1 / (1 - (known ? Number(known.data[0]) : 0.5)), dY);
  const scale = ctx.op("Reciprocal", [ctx.op("Sub", [ctx.scalar(1, ratio), ratio])]);
  return ctx.dtype(ratio) === ctx.dtype(dY) ? scale : ctx.op("Cast", [scale], { to: onnxFromDtype(ctx.dtype(dY)) });
}

// training: dX = dY * mask / (1 - ratio); inference: dX = dY (ORT's mask is then all true)
export const dropout: GradRule = {
  nonDifferentiableInputs: [1, 2],
  nonDifferentiableOutputs: [1],
  grad(ctx) {
    const dY = ctx.GO(0);
    if (!dY) return [];
    const trainingMode = ctx.opset >= 12 && ctx.inputCount > 2 ? ctx.I(2) : "";
    const knownMode = trainingMode ? ctx.constantValue(trainingMode) : undefined;
    if (!trainingMode || (knownMode && !Number(knownMode.data[0]))) return [dY];
    const mask = ctx.O(1);
    if (!mask)
      throw new UserError(
        "a Dropout with a training_mode input needs its mask output for the gradient",
        nodeLabel(ctx),
      );
    const masked = ctx.op("Mul", [dY, ctx.op("Cast", [mask], { to: onnxFromDtype(ctx.dtype(dY)) })]);
    // A training_mode only known at run time: in inference mode the runtime scales nothing.
    const scale = knownMode
      ? keepScale(ctx, dY)
      : ctx.op("Where", [trainingMode, keepScale(ctx, dY), ctx.scalar(1, dY)]);
    return [ctx.op("Mul", [masked, scale])];
  },
};
