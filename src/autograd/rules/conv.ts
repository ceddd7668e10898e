/**
 * Conv gradient for any spatial rank, groups (depthwise included), strides, dilations, explicit pads and
 * auto_pad, optional bias. Needs the static spatial dims of X and W (a probe run gives them).
 *
 * Forms (chosen per node by what onnxruntime's CPU kernels do fastest; scripts/perf/conv-backward.ts,
 * docs/PERFORMANCE.md "Conv backward, CPU"):
 * - taps that only ever read padding are cut off first (a 3x3 pad-1 conv on a 1x1 map is a 1x1 conv);
 * - dX: stride 1, group 1: Conv of dY with the transposed, flipped kernel; strided onto a small map from a
 *   dY of at least one MLAS panel: columns by one MatMul, col2im by a MatMul with a 0/1 matrix; else
 *   ConvTranspose; the Conv and ConvTranspose with the batch folded into a depth axis where onnxruntime would
 *   run them as many tiny per-sample GEMMs (batch-fold.ts);
 * - dW, group 1: when the per-sample partial gradients [C*taps, O] are no bigger than the im2col matrix
 *   [C*taps, P] (O <= P output pixels: the many-pixel, few-channel convs), the im2col made by a grouped
 *   one-hot Conv over X and one batched MatMul with dY^T per sample, summed over N, or, for stride-1 2-D convs
 *   whose partials are more than a quarter of the columns, the im2col of all samples at once and one Gemm
 *   (weightGradColumns); else 2-D: a 1x1 kernel
 *   as one Gemm of dY^T by X^T's (strided) pixels, other kernels as a batch-folded Conv of X by dY^T; other
 *   ranks with stride 1 or a 1x1 kernel: one Gemm of dY^T by the kernel taps' (strided) slices of X^T
 *   (im2col, when it is at most 1 MiB per sample); else a grouped Conv of X^T by dY^T.
 */
import { attrInt } from "../../onnx/attributes.js";
import { reduce, staticDims } from "../emit.js";
import type { GradContext, GradRule } from "../rule.js";
import { constantLike, nodeLabel, range, requireDims, reshape, transpose } from "./nn-emit.js";
import { UserError } from "../../errors.js";
import { int64, numel } from "../../onnx/tensor.js";
import {
  extent,
  kernelShape,
  padsEndRead,
  resolveWindow,
  tapMatrix,
  transposeSettings,
  type Window,
} from "./window.js";
import { batchFolded, depthAttrs, foldConv, foldConvTranspose } from "./batch-fold.js";

// dB = ReduceSum(dY, [0, 2, ...])
export const conv: GradRule = {
  grad(ctx) {
    const [x, w, dY] = [ctx.I(0), ctx.I(1), ctx.GO(0)];
    if (!dY) return [];
    const group = attrInt(ctx.node, "group", 1);
    const wDims = requireDims(ctx, w);
    const kernel = kernelShape(ctx.node, wDims.slice(2));
    const full = resolveWindow({
      node: ctx.node,
      input: requireDims(ctx, x, 2),
      kernel,
      output: staticDims(ctx, ctx.O(0), 2),
    });
    const rank = kernel.length + 2;
    const cut = ctx.opset >= 13 ? liveTaps(full) : undefined;
    const win = cut?.win ?? full;
    const wLive = cut ? cutTaps(ctx, w, wDims, cut.first, cut.win.kernel) : w;
    const fast = ctx.opset >= 13 && group === 1;
    const cIn = wDims[1]! * group;
    // A conv that sees one pixel per sample (1x1 maps after the cut) is a dense layer: two Gemms, no transposes.
    const dense = fast && [...win.input, ...win.output, ...win.kernel].every((d) => d === 1);
    let dW: string | undefined;
    if (ctx.needs(1)) {
      if (dense) dW = ctx.op("Gemm", [reshape(ctx, dY, [-1, wDims[0]!]), reshape(ctx, x, [-1, cIn])], { transA: 1 });
      else if (fast && wDims[0]! <= numel(win.output))
        dW = oneGemm(win, wDims[0]!)
          ? weightGradColumns(ctx, x, dY, win, [wDims[0]!, cIn])
          : weightGradBatched(ctx, x, dY, win, [wDims[0]!, cIn]);
      else if (fast && im2colFits(win, cIn) && (rank !== 4 || win.kernel.every((k) => k === 1)))
        dW = weightGradGemm(ctx, x, dY, win, [wDims[0]!, cIn]);
      else dW = weightGradConv(ctx, x, dY, win, group, cIn);
      dW = cut ? placeTaps(ctx, dW, wDims, cut.first, cut.win.kernel) : reshape(ctx, dW, wDims);
    }
    let dX: string | undefined;
    if (ctx.needs(0)) {
      if (dense)
        dX = reshape(ctx, ctx.op("Gemm", [reshape(ctx, dY, [-1, wDims[0]!]), reshape(ctx, wLive, [wDims[0]!, cIn])]), [
          -1,
          cIn,
          ...win.input,
        ]);
      else if (fast && flippedPads(win)) dX = inputGradFlipped(ctx, dY, wLive, win, [wDims[0]!, cIn]);
      else if (fast && scatterFits(win)) dX = inputGradScattered(ctx, dY, wLive, win, [wDims[0]!, cIn]);
      else dX = inputGrad(ctx, dY, wLive, win, group, fast);
    }
    return [
      dX,
      dW,
      ctx.inputCount > 2 && ctx.needs(2) ? reduce(ctx, "ReduceSum", dY, [0, ...range(2, rank)], 0) : undefined,
    ];
  },
};

/**
 * The one-hot kernel [cIn * taps, 1, ...kernel] of the grouped im2col Conv (group cIn): filter (c, t) copies tap t
 * of channel c. training/artifacts/shared-im2col.ts recognises the columns by it.
 */
export function im2colKernel(cIn: number, taps: number): Float64Array {
  const oneHot = new Float64Array(cIn * taps * taps);
  for (let c = 0; c < cIn; c++) for (let t = 0; t < taps; t++) oneHot[(c * taps + t) * taps + t] = 1;
  return oneHot;
}

// The im2col matrix is materialised whole (C*k*k*Ho*Wo floats per sample): 1 MiB per sample at most, else
// the Conv form, whose im2col onnxruntime makes one input channel at a time.
const IM2COL_MAX_PER_SAMPLE = 1 << 18;
const im2colFits = (win: Window, cIn: number): boolean =>
  (win.strides.every((s) => s === 1) || win.kernel.every((k) => k === 1)) &&
  cIn * numel([...win.kernel, ...win.output]) <= IM2COL_MAX_PER_SAMPLE;

/** The window without the leading/trailing taps that read only padding, when there are any such taps. */
function liveTaps(w: Window): { win: Window; first: number[] } | undefined {
  const first: number[] = [];
  const kernel: number[] = [];
  const padsBegin: number[] = [];
  const padsEnd: number[] = [];
  for (let i = 0; i < w.kernel.length; i++) {
    const [s, d, pb, n, out] = [w.strides[i]!, w.dilations[i]!, w.padsBegin[i]!, w.input[i]!, w.output[i]!];
    // tap k reads rows s*p + d*k - pb for p in [0, out): live when one of them is inside [0, n)
    const k0 = Math.max(0, Math.ceil((pb - s * (out - 1)) / d));
    const k1 = Math.min(w.kernel[i]! - 1, Math.floor((n - 1 + pb) / d));
    if (k1 < k0 || pb - d * k0 < 0) return undefined;
    first.push(k0);
    kernel.push(k1 - k0 + 1);
    padsBegin.push(pb - d * k0);
    padsEnd.push(Math.max(0, s * (out - 1) + d * (k1 - k0) + 1 - n - (pb - d * k0)));
  }
  if (kernel.every((k, i) => k === w.kernel[i])) return undefined;
  return { win: { ...w, kernel, padsBegin, padsEnd }, first };
}

/** A constant 0/1 matrix over kernel taps, [taps in, taps out] (row-major multi-indices). */
type TapMatrix = { dims: number[]; values: Float64Array };

/** 0/1 matrix [live taps, all taps] that puts tap t of the cut kernel (row-major) at its place in the full one. */
function placement(kernel: number[], first: number[], live: number[]): TapMatrix {
  const values = new Float64Array(numel(live) * numel(kernel));
  for (let t = 0; t < numel(live); t++) {
    let target = 0;
    for (let i = 0, rest = t; i < live.length; i++) {
      const below = numel(live.slice(i + 1));
      target = target * kernel[i]! + first[i]! + Math.floor(rest / below);
      rest %= below;
    }
    values[t * numel(kernel) + target] = 1;
  }
  return { dims: [numel(live), numel(kernel)], values };
}

/**
 * W [A, B, ...] (`dims`) with its kernel taps (the trailing axes, flattened row-major) mapped by the constant 0/1 matrix
 * `m` [taps in, taps out]: a MatMul of W as [A*B, taps in], reshaped to [A, B, ...kernel]. Cutting dead taps,
 * placing them back and flipping a kernel are all this: exact for finite weights (one product by 1 per value, the
 * rest by 0), where onnxruntime's Slice and Pad copy a value at a time on such tiny innermost axes (~5-10x slower
 * on kernels like [512, 512, 3, 3] -> [512, 512, 1, 1]; a step -1 Slice 0.3-0.6 ms per [128, 128, 3, 3] kernel).
 */
function mapTaps(ctx: GradContext, w: string, dims: number[], m: TapMatrix, kernel: number[]): string {
  const [a, b] = [dims[0]!, dims[1]!];
  const flat = reshape(ctx, w, [a * b, m.dims[0]!]);
  return reshape(ctx, ctx.op("MatMul", [flat, constantLike(ctx, ctx.I(1), m.dims, m.values)]), [a, b, ...kernel]);
}

function cutTaps(ctx: GradContext, w: string, wDims: number[], first: number[], live: number[]): string {
  const p = placement(wDims.slice(2), first, live);
  const pT = new Float64Array(p.values.length);
  p.values.forEach((v, i) => (pT[(i % p.dims[1]!) * p.dims[0]! + Math.floor(i / p.dims[1]!)] = v));
  return mapTaps(ctx, w, wDims, { dims: [p.dims[1]!, p.dims[0]!], values: pT }, live);
}

const placeTaps = (ctx: GradContext, dW: string, wDims: number[], first: number[], live: number[]): string =>
  mapTaps(ctx, dW, wDims, placement(wDims.slice(2), first, live), wDims.slice(2));

/** W [A, B, ...kernel] flipped in every spatial axis: reversing a row-major tap index reverses every axis at once. */
function flipTaps(ctx: GradContext, w: string, dims: number[]): string {
  const taps = numel(dims.slice(2));
  const reversal = new Float64Array(taps * taps);
  for (let t = 0; t < taps; t++) reversal[t * taps + (taps - 1 - t)] = 1;
  return mapTaps(ctx, w, dims, { dims: [taps, taps], values: reversal }, dims.slice(2));
}

const slice = (ctx: GradContext, x: string, starts: number[], ends: number[], steps?: number[]): string => {
  const r = starts.length;
  const axes = range(2, r + 2);
  const c = (v: number[]) => ctx.constant(int64([r], v));
  return ctx.op("Slice", [x, c(starts), c(ends), c(axes), ...(steps ? [c(steps)] : [])]);
};

function inputGrad(ctx: GradContext, dY: string, w: string, win: Window, group: number, fast: boolean): string {
  const { pads, outputPadding } = transposeSettings(win);
  const attrs = { kernel_shape: win.kernel, strides: win.strides, dilations: win.dilations, pads };
  if (fast && win.kernel.length === 2 && foldConvTranspose(numel(win.output)))
    return batchFolded(ctx, "ConvTranspose", [dY, w], { ...attrs, output_padding: outputPadding });
  return ctx.op("ConvTranspose", [dY, w], { group, ...attrs, output_padding: outputPadding });
}

/** Largest input map (pixels per sample) the scattered input gradient is taken for: its 0/1 matrix is [taps*P, H*W]. */
const SCATTER_MAX_PIXELS = 64;

/** Strided 2-D convs onto at most SCATTER_MAX_PIXELS pixels whose ConvTranspose would not be batch-folded. */
const scatterFits = (win: Window): boolean =>
  win.kernel.length === 2 &&
  win.strides.some((s) => s !== 1) &&
  !foldConvTranspose(numel(win.output)) &&
  numel(win.input) <= SCATTER_MAX_PIXELS;

/**
 * dX of a strided conv in two MatMuls: the columns cols[n, (c, tap), p] = sum_o W[o, c, tap] dY[n, o, p], one MatMul
 * broadcast over the batch (the samples' GEMMs side by side on the threads, where onnxruntime's ConvTranspose
 * spreads each sample's small GEMM over them in turn and then runs its col2im on one thread), and col2im as
 * a MatMul of cols [N*C, taps*P] by the constant 0/1 matrix [taps*P, H*W] that sends column (tap, p) to the
 * input pixel it read, if any. Each pixel sums its terms in tap order from zero, as col2im does: the same numbers
 * as ConvTranspose on ResNet-18's maps (scripts/perf/conv-backward.ts, form "scatter"; docs/PERFORMANCE.md).
 */
function inputGradScattered(ctx: GradContext, dY: string, w: string, win: Window, [cOut, cIn]: number[]): string {
  const taps = numel(win.kernel);
  const [pixelsOut, pixelsIn] = [numel(win.output), numel(win.input)];
  // W^T made here (Transpose, then Reshape): fed straight from a Transpose, onnxruntime fuses it into the MatMul
  // (FusedMatMul, transA), which transposes the shared W again for every sample: 2x the time at batch 64
  const wT = reshape(ctx, transpose(ctx, w, [1, 2, 3, 0]), [cIn * taps, cOut]);
  const cols = ctx.op("MatMul", [wT, reshape(ctx, dY, [-1, cOut, pixelsOut])]);
  // rows tap-major, so that each pixel's terms come in tap order
  const scatter = tapMatrix(win, "tap");
  const rows = reshape(ctx, cols, [-1, taps * pixelsOut]);
  const dX = ctx.op("MatMul", [rows, constantLike(ctx, dY, [taps * pixelsOut, pixelsIn], scatter)]);
  return reshape(ctx, dX, [-1, cIn, ...win.input]);
}

/** Pads of the stride-1 Conv that maps dY back onto X's extent with the flipped kernel; undefined if none fits. */
function flippedPads(win: Window): number[] | undefined {
  if (win.strides.some((s) => s !== 1)) return undefined;
  const begin = win.kernel.map((_, i) => extent(win, i) - 1 - win.padsBegin[i]!);
  const end = win.kernel.map((_, i) => win.input[i]! - win.output[i]! + win.padsBegin[i]!);
  return [...begin, ...end].every((p) => p >= 0) ? [...begin, ...end] : undefined;
}

// dX[n,c,x] = sum_{o,k} dY[n,o,x+pb-d*k] W[o,c,k] = Conv(dY, W^T flipped) for stride 1.
function inputGradFlipped(ctx: GradContext, dY: string, w: string, win: Window, [cOut, cIn]: number[]): string {
  const r = win.kernel.length;
  const wT = transpose(ctx, w, [1, 0, ...range(2, r + 2)]);
  const wF = win.kernel.every((k) => k === 1) ? wT : flipTaps(ctx, wT, [cIn, cOut, ...win.kernel]);
  const attrs = { kernel_shape: win.kernel, dilations: win.dilations, pads: flippedPads(win)! };
  const pointwise = win.kernel.every((k) => k === 1) && attrs.pads.every((p) => p === 0);
  if (r === 2 && foldConv({ filters: cIn, pixels: numel(win.input), pointwise }))
    return batchFolded(ctx, "Conv", [dY, wF], { ...attrs, strides: [1, 1] });
  return ctx.op("Conv", [dY, wF], attrs);
}

// dW[o,(c,k)] = sum_{n,p} dY^T[o,(n,p)] cols[(c,k),(n,p)], cols[c,k,n,p] = Xpad^T[c, n, s*p + d*k].
/** [cOut, cIn * taps] */
function weightGradGemm(ctx: GradContext, x: string, dY: string, win: Window, [cOut, cIn]: number[]): string {
  const r = win.kernel.length;
  const swapNC = [1, 0, ...range(2, r + 2)];
  const padsEnd = padsEndRead(win);
  let xT = transpose(ctx, x, swapNC);
  if ([...win.padsBegin, ...padsEnd].some((p) => p > 0))
    xT = ctx.op("Pad", [xT, ctx.constant(int64([2 * (r + 2)], [0, 0, ...win.padsBegin, 0, 0, ...padsEnd]))]);
  const taps: string[] = [];
  const tap = Array<number>(r).fill(0);
  const tapCount = numel(win.kernel);
  for (let t = 0; t < tapCount; t++) {
    const starts = tap.map((k, i) => k * win.dilations[i]!);
    const ends = starts.map((s, i) => s + win.strides[i]! * (win.output[i]! - 1) + 1);
    const whole = starts.every((s, i) => s === 0 && ends[i] === win.input[i]! + win.padsBegin[i]! + padsEnd[i]!);
    const strided = win.strides.some((s) => s !== 1);
    const one = whole && !strided ? xT : slice(ctx, xT, starts, ends, strided ? win.strides : undefined);
    taps.push(tapCount === 1 ? one : reshape(ctx, one, [cIn, 1, -1]));
    for (let i = r - 1; i >= 0 && ++tap[i]! === win.kernel[i]; i--) tap[i] = 0;
  }
  const cols = reshape(ctx, taps.length === 1 ? taps[0]! : ctx.op("Concat", taps, { axis: 1 }), [cIn * tapCount, -1]);
  const dYT = reshape(ctx, transpose(ctx, dY, swapNC), [cOut, -1]);
  return ctx.op("Gemm", [dYT, cols], { transB: 1 });
}

// dW[o,(c,k)] = sum_n sum_p cols[n,(c,k),p] dY[n,o,p], cols = im2col of X by one grouped Conv (group C, one
// one-hot filter per channel and tap). Grouped, it runs in plain NCHW: as a 1-channel Conv over X as
// [N*C, 1, ...] onnxruntime pre-packs the constant one-hot kernel into its NCHWc layout (9 -> 16 output
// channels) and adds a reorder back that cost more than the im2col (scripts/perf/conv-backward.ts, bmm vs bmmg).
/** [cOut, cIn * taps] */
function weightGradBatched(ctx: GradContext, x: string, dY: string, win: Window, [cOut, cIn]: number[]): string {
  const taps = numel(win.kernel);
  const oneHot = im2colKernel(cIn, taps);
  const cols = ctx.op("Conv", [x, constantLike(ctx, x, [cIn * taps, 1, ...win.kernel], oneHot)], {
    group: cIn,
    kernel_shape: win.kernel,
    strides: win.strides,
    dilations: win.dilations,
    pads: [...win.padsBegin, ...padsEndRead(win)],
  });
  const dYT = transpose(ctx, reshape(ctx, dY, [0, cOut, -1]), [0, 2, 1]);
  const perSample = ctx.op("MatMul", [reshape(ctx, cols, [0, cIn * taps, -1]), dYT]);
  return transpose(ctx, reduce(ctx, "ReduceSum", perSample, [0], 0), [1, 0]);
}

/**
 * Whether a stride-1 2-D conv with O <= P takes its weight gradient as one Gemm over all samples
 * (weightGradColumns) rather than per sample (weightGradBatched): when the per-sample partial gradients
 * [N, C*taps, O] would be more than a quarter of the columns [N, C*taps, P] (4 * O > P). Per shape at batch 256
 * (docs/PERFORMANCE.md, tenth session): 64 filters on 8x8 maps 30.6 -> 24.5 ms at 1 thread, 32 on 7x7 9.3 -> 7.4;
 * 8 on 28x28 (O << P) 15.0 -> 17.6, kept per sample. Strided convs keep the grouped one-hot columns, whose forward
 * shares them (training/artifacts/shared-im2col.ts).
 */
const oneGemm = (win: Window, cOut: number): boolean =>
  win.kernel.length === 2 && win.strides.every((s) => s === 1) && 4 * cOut > numel(win.output);

// dW[o,(c,k)] = sum_{n,p} dY^T[o,(n,p)] cols[(c,k),(n,p)]: X^T as [C, 1, N, H, W] (channels as the batch, samples
// as depth) through a one-hot 3-D Conv (one depth-1 filter per tap) is the im2col of all samples at once,
// [C, taps, N, P] = [C*taps, N*P], and one Gemm sums all N*P products (the same order as the batch-folded Conv of
// weightGradConv: the same numbers). 3-D, the constant kernel is not pre-packed into NCHWc.
/** [cOut, cIn * taps] */
function weightGradColumns(ctx: GradContext, x: string, dY: string, win: Window, [cOut, cIn]: number[]): string {
  const taps = numel(win.kernel);
  const samplesAsDepth = reshape(ctx, transpose(ctx, x, [1, 0, 2, 3]), [cIn, 1, -1, ...win.input]);
  const oneHot = constantLike(ctx, x, [taps, 1, 1, ...win.kernel], im2colKernel(1, taps));
  const cols = ctx.op(
    "Conv",
    [samplesAsDepth, oneHot],
    depthAttrs({
      kernel_shape: win.kernel,
      strides: win.strides,
      dilations: win.dilations,
      pads: [...win.padsBegin, ...padsEndRead(win)],
    }),
  );
  const dYT = reshape(ctx, transpose(ctx, dY, [1, 0, 2, 3]), [cOut, -1]);
  return ctx.op("Gemm", [dYT, reshape(ctx, cols, [cIn * taps, -1])], { transB: 1 });
}

// dW[o,c,k] = sum_{n,p} dY[n,o,p] Xpad[n,c,s*p+d*k] (a grouped Conv of X^T by dY^T with strides and
// dilations swapped)
function weightGradConv(ctx: GradContext, x: string, dY: string, win: Window, group: number, cIn: number): string {
  const r = win.kernel.length;
  const cg = cIn / group;
  if (!Number.isInteger(cg))
    throw new UserError(`input channels ${cIn} are not divisible by group ${group}`, nodeLabel(ctx));
  const swapNC = [1, 0, ...range(2, r + 2)];
  const dYT = transpose(ctx, dY, swapNC);
  // Trim end padding the kernel never reaches (rows the stride drops), so the result is kernel-sized when possible.
  const padsEnd = padsEndRead(win);
  const got = win.kernel.map((_, i) => {
    const span = win.input[i]! + win.padsBegin[i]! + padsEnd[i]! - ((win.output[i]! - 1) * win.strides[i]! + 1);
    return Math.floor(span / win.dilations[i]!) + 1;
  });
  const attrs = { kernel_shape: win.output, strides: win.dilations, dilations: win.strides };
  const pads = [...win.padsBegin, ...padsEnd];
  // This Conv's batch is the input channels, its filters the output channels, its pixels the kernel taps:
  // onnxruntime runs it as one tiny GEMM per input channel. Batch-folded (batch-fold.ts), X itself is the
  // image [1, N, C, ...] (samples as channels, channels as depth) and dY^T the kernel: one GEMM over all
  // N*H*W products, and the result [O, C, ...] needs no transpose back.
  if (group === 1 && r === 2 && ctx.opset >= 13) {
    const axes = (v: number[]) => ctx.constant(int64([v.length], v));
    const image = ctx.op("Unsqueeze", [x, axes([0])]);
    const y = ctx.op("Conv", [image, ctx.op("Unsqueeze", [dYT, axes([2])])], depthAttrs({ ...attrs, pads }));
    const dW = ctx.op("Squeeze", [y, axes([0])]);
    return got.some((g, i) => g !== win.kernel[i]) ? slice(ctx, dW, [0, 0], win.kernel) : dW;
  }
  // X as [Cg, G*N, *S]: batch = channel within group, channels = (group, sample) so a grouped Conv pairs
  // group g of X with the dY channels of group g.
  const xT =
    group === 1
      ? transpose(ctx, x, swapNC)
      : reshape(ctx, transpose(ctx, reshape(ctx, x, [0, group, cg, -1]), [2, 1, 0, 3]), [cg, -1, ...win.input]);
  let dW = ctx.op("Conv", [xT, dYT], { group, ...attrs, pads });
  if (got.some((g, i) => g !== win.kernel[i])) dW = slice(ctx, dW, Array<number>(r).fill(0), win.kernel);
  return transpose(ctx, dW, swapNC);
}
