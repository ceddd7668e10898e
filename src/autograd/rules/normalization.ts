/**
 * BatchNormalization and LayerNormalization gradients.
 *
 * Train-step form of BatchNormalization (agreed with the artifacts helper, who rewrites inference BNs):
 *   BatchNormalization(X, scale, B, input_mean, input_var) -> (Y, running_mean, running_var)
 *   with training_mode=1 (opset >= 14; before 14, a node with more than one output is in training mode)
 *   and only Y on the loss path. Y normalises with the batch mean and the biased batch variance (ORT's
 *   fused kernel). The running statistics ORT returns use the biased variance, so the artifacts helper
 *   computes PyTorch's running update itself; they carry no gradient (inputs 3 and 4 are not
 *   differentiable). The rule recomputes the batch mean and 1/sqrt(var+eps) with ReduceMean.
 * An inference-mode node (training_mode=0) is a frozen affine map using the running statistics.
 */
import { attrFloat, attrInt } from "../../onnx/attributes.js";
import type { GradContext, GradRule } from "../rule.js";
import { UserError } from "../../errors.js";
import { normAxis, reduce, spreadPerChannel } from "../emit.js";
import { nodeLabel, range, rankOf, reshape } from "./nn-emit.js";
import { onnxFromDtype } from "../../onnx/tensor.js";

const isTraining = (ctx: GradContext): boolean =>
  ctx.opset >= 14 ? attrInt(ctx.node, "training_mode", 0) === 1 : ctx.node.output.filter((o) => o !== "").length > 1;

/**
 * 1/sqrt(var + eps) (biased var) over `axes`, kept for broadcasting and taken by `spread` to the operand that meets
 * x (spreadPerChannel), and the normalised x. The mean, the centred x and the variance are the same nodes as the
 * train mode's batch statistics (train-mode.ts), which common-subexpression elimination merges into one copy in
 * the train step.
 */
function standardise(ctx: GradContext, x: string, axes: number[], epsilon: number, spread = (v: string) => v) {
  const mean = reduce(ctx, "ReduceMean", x, axes, 1);
  const centred = ctx.op("Sub", [x, spread(mean)]);
  const variance = reduce(ctx, "ReduceMean", ctx.op("Mul", [centred, centred]), axes, 1);
  const invStd = spread(ctx.op("Reciprocal", [ctx.op("Sqrt", [ctx.op("Add", [variance, ctx.scalar(epsilon, x)])])]));
  return { invStd, xHat: ctx.op("Mul", [centred, invStd]) };
}

/** dX of a normalisation over `axes` given g = dY * scale: invstd * (g - mean(g) - xhat * mean(g * xhat)). */
function normalisedInputGrad(ctx: GradContext, g: string, xHat: string, invStd: string, axes: number[]): string {
  const meanG = reduce(ctx, "ReduceMean", g, axes, 1);
  const meanGX = reduce(ctx, "ReduceMean", ctx.op("Mul", [g, xHat]), axes, 1);
  const inner = ctx.op("Sub", [ctx.op("Sub", [g, meanG]), ctx.op("Mul", [xHat, meanGX])]);
  return ctx.op("Mul", [invStd, inner]);
}

// training: dX = scale*invstd/N * (N*dY - sum dY - xhat*sum(dY*xhat)), dScale = sum(dY*xhat), dB = sum(dY)
// (the two sums are computed once and serve all three; the count per channel is static or Size(dY)/Size(scale));
// inference: dX = dY*scale/sqrt(running_var+eps), dScale = sum(dY*(x-running_mean)/sqrt(running_var+eps)), dB = sum(dY)
export const batchNormalization: GradRule = {
  nonDifferentiableInputs: [3, 4],
  nonDifferentiableOutputs: [1, 2, 3, 4],
  grad(ctx) {
    const [x, scale, dY] = [ctx.I(0), ctx.I(1), ctx.GO(0)];
    if (!dY) return [];
    const rank = rankOf(ctx, x);
    const axes = [0, ...range(2, rank)];
    // per-channel operands meet activation-sized values spread over small maps (spreadPerChannel)
    const spread = (v: string) => spreadPerChannel(ctx, v, ctx.shape(x));
    const perChannel = (v: string) => spread(reshape(ctx, v, [-1, ...Array<number>(rank - 2).fill(1)]));
    const epsilon = Math.fround(attrFloat(ctx.node, "epsilon", 1e-5));
    if (isTraining(ctx)) {
      const { invStd, xHat } = standardise(ctx, x, axes, epsilon, spread);
      const dYXHat = ctx.needs(0) || ctx.needs(1) ? ctx.op("Mul", [dY, xHat]) : undefined;
      // sum(dY) and sum(dY*xhat) per channel are dB and dScale, and divided by the count the two means of dX
      const sumDY = ctx.needs(0) || ctx.needs(2) ? reduce(ctx, "ReduceSum", dY, axes, 1) : undefined;
      const sumGX = dYXHat ? reduce(ctx, "ReduceSum", dYXHat, axes, 1) : undefined;
      let dX: string | undefined;
      if (ctx.needs(0)) {
        const asFloat = (v: string) => ctx.op("Cast", [v], { to: onnxFromDtype(ctx.dtype(x)) });
        const channels = ctx.shape(x)?.[1];
        const channelCount = typeof channels === "number" ? ctx.scalar(channels, x) : asFloat(ctx.op("Size", [scale]));
        const count = ctx.op("Div", [asFloat(ctx.op("Size", [dY])), channelCount]);
        const [meanG, meanGX] = [sumDY!, sumGX!].map((v) => spread(ctx.op("Div", [v, count])));
        const inner = ctx.op("Sub", [ctx.op("Sub", [dY, meanG!]), ctx.op("Mul", [xHat, meanGX!])]);
        dX = ctx.op("Mul", [perChannel(scale), ctx.op("Mul", [invStd, inner])]);
      }
      const flat = (v: string | undefined) => (v ? reshape(ctx, v, [-1]) : undefined);
      return [dX, ctx.needs(1) ? flat(sumGX) : undefined, ctx.needs(2) ? flat(sumDY) : undefined];
    }
    const dB = ctx.needs(2) ? reduce(ctx, "ReduceSum", dY, axes, 0) : undefined;
    const invStd = ctx.op("Reciprocal", [ctx.op("Sqrt", [ctx.op("Add", [ctx.I(4), ctx.scalar(epsilon, x)])])]);
    const dX = ctx.needs(0) ? ctx.op("Mul", [dY, perChannel(ctx.op("Mul", [scale, invStd]))]) : undefined;
    let dScale: string | undefined;
    if (ctx.needs(1)) {
      const xHat = ctx.op("Mul", [ctx.op("Sub", [x, perChannel(ctx.I(3))]), perChannel(invStd)]);
      dScale = reduce(ctx, "ReduceSum", ctx.op("Mul", [dY, xHat]), axes, 0);
    }
    return [dX, dScale, dB];
  },
};

// g = dY*scale: dX = invstd * (g - mean(g) - xhat*mean(g*xhat)) over axes [axis, rank); dScale = dY*xhat, dB = dY
// (in Y's shape; the engine sums them down to the shapes of scale and B)
export const layerNormalization: GradRule = {
  broadcast: true,
  grad(ctx) {
    const [x, scale, dY] = [ctx.I(0), ctx.I(1), ctx.GO(0)];
    if (!dY) return [];
    if (ctx.GO(1) || ctx.GO(2))
      throw new UserError("gradients through the Mean/InvStdDev outputs are not supported", nodeLabel(ctx));
    const rank = rankOf(ctx, x);
    const axes = range(normAxis(attrInt(ctx.node, "axis", -1), rank), rank);
    const { invStd, xHat } = standardise(ctx, x, axes, Math.fround(attrFloat(ctx.node, "epsilon", 1e-5)));
    const dX = ctx.needs(0) ? normalisedInputGrad(ctx, ctx.op("Mul", [dY, scale]), xHat, invStd, axes) : undefined;
    const dScale = ctx.needs(1) ? ctx.op("Mul", [dY, xHat]) : undefined;
    const dB = ctx.needs(2) ? dY : undefined;
    return [dX, dScale, dB];
  },
};
