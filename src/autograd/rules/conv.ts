/**
 * Conv gradient for any spatial rank, groups (depthwise included), strides, dilations, explicit pads and
 * auto_pad, optional bias. Needs the static spatial dims of X and W (a probe run gives them).
 */
import { attrInt } from "../../onnx/attributes.js";
import type { GradContext, GradRule } from "../rule.js";
import { knownDims, nodeLabel, range, reduceOver, requireDims, reshape, transpose } from "./nn-emit.js";
import { UserError } from "../../errors.js";
import { int64 } from "../../onnx/tensor.js";
import { extent, kernelShape, resolveWindow, transposeSettings, type Window } from "./window.js";

// dX = ConvTranspose(dY, W) onto X's extent; dW[o,c,k] = sum_{n,p} dY[n,o,p] Xpad[n,c,s*p+d*k] (a grouped
// Conv of X^T by dY^T with strides and dilations swapped); dB = ReduceSum(dY, [0, 2, ...])
export const conv: GradRule = {
  grad(ctx) {
    const [x, w, dY] = [ctx.I(0), ctx.I(1), ctx.GO(0)];
    if (!dY) return [];
    const group = attrInt(ctx.node, "group", 1);
    const wDims = requireDims(ctx, w);
    const kernel = kernelShape(ctx.node, wDims.slice(2));
    const win = resolveWindow({ node: ctx.node, input: requireDims(ctx, x, 2), kernel, output: knownDims(ctx, ctx.O(0), 2) });
    const rank = kernel.length + 2;
    return [
      ctx.needs(0) ? inputGrad(ctx, dY, w, win, group) : undefined,
      ctx.needs(1) ? weightGrad(ctx, x, dY, win, group, wDims) : undefined,
      ctx.inputCount > 2 && ctx.needs(2) ? reduceOver(ctx, "ReduceSum", dY, [0, ...range(2, rank)], false) : undefined,
    ];
  },
};

function inputGrad(ctx: GradContext, dY: string, w: string, win: Window, group: number): string {
  const { pads, outputPadding } = transposeSettings(win);
  return ctx.op("ConvTranspose", [dY, w], {
    group,
    kernel_shape: win.kernel,
    strides: win.strides,
    dilations: win.dilations,
    pads,
    output_padding: outputPadding,
  });
}

function weightGrad(ctx: GradContext, x: string, dY: string, win: Window, group: number, wDims: number[]): string {
  const r = win.kernel.length;
  const cIn = wDims[1]! * group;
  const cg = cIn / group;
  if (!Number.isInteger(cg)) throw new UserError(`input channels ${cIn} are not divisible by group ${group}`, nodeLabel(ctx));
  const swapNC = [1, 0, ...range(2, r + 2)];
  // X as [Cg, G*N, *S]: batch = channel within group, channels = (group, sample) so a grouped Conv pairs
  // group g of X with the dY channels of group g.
  const xT =
    group === 1
      ? transpose(ctx, x, swapNC)
      : reshape(ctx, transpose(ctx, reshape(ctx, x, [0, group, cg, -1]), [2, 1, 0, 3]), [cg, -1, ...win.input]);
  const dYT = transpose(ctx, dY, swapNC);
  // Trim end padding the kernel never reaches (rows the stride drops), so the result is kernel-sized when possible.
  const padsEnd = win.kernel.map((_, i) => {
    const reach = win.strides[i]! * (win.output[i]! - 1) + extent(win, i);
    return Math.max(0, reach - win.input[i]! - win.padsBegin[i]!);
  });
  let dW = ctx.op("Conv", [xT, dYT], {
    group,
    kernel_shape: win.output,
    strides: win.dilations,
    dilations: win.strides,
    pads: [...win.padsBegin, ...padsEnd],
  });
  const got = win.kernel.map((_, i) => {
    const span = win.input[i]! + win.padsBegin[i]! + padsEnd[i]! - ((win.output[i]! - 1) * win.strides[i]! + 1);
    return Math.floor(span / win.dilations[i]!) + 1;
  });
  if (got.some((g, i) => g !== win.kernel[i])) {
    const axes = range(2, r + 2);
    dW = ctx.op("Slice", [
      dW,
      ctx.constant(int64([r], Array<number>(r).fill(0))),
      ctx.constant(int64([r], win.kernel)),
      ctx.constant(int64([r], axes)),
    ]);
  }
  return transpose(ctx, dW, swapNC);
}
