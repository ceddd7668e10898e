/**
 * A 2-D Conv or ConvTranspose with the batch folded into a depth axis: X [N, C, H, W] runs as one image
 * [1, C, N, H, W] through the 3-D op with a depth-1 kernel ([O, C, 1, kh, kw]), and the result is put back
 * as [N, O, H', W']. The same numbers (each sample only meets itself along a depth-1 kernel); what changes is
 * how onnxruntime's CPU kernels split the work.
 *
 * onnxruntime's CPU Conv (MLAS) runs a conv whose filters outnumber its output pixels as one GEMM per
 * sample, with the pixels as the GEMM's N dimension, each spread over the threads on its own: on a 4x4 map
 * that is 64 tiny GEMMs per batch of 64, and a second thread makes them slower (waking it costs more than it
 * saves). Its ConvTranspose also runs one GEMM per sample, with the input pixels as N. Folded, there is one
 * image of N*H'*W' pixels: one large GEMM that the threads split evenly. Measured per conv shape in
 * docs/PERFORMANCE.md ("Batch-folded convs"; scripts/perf/conv-backward.ts, forms "depth", "flipdepth",
 * "ctdepth").
 */
import type { Attrs } from "../../onnx/attributes.js";
import { int64, type Tensor } from "../../onnx/tensor.js";

/** What the fold emits nodes through: a gradient context, or an artifact builder's adapter. */
export interface OpSink {
  op(opType: string, inputs: string[], attrs?: Attrs): string;
  constant(t: Tensor): string;
}

/**
 * MLAS's GEMM works on panels of 16 output columns (MLAS_SGEMM_STRIDEN_THREAD_ALIGN): below that many input
 * pixels per sample the per-sample GEMMs of a ConvTranspose waste most of each panel; from 16 on, its own
 * form is faster than the folded one (whose 3-D col2im is slower: 23 vs 27 ms for ResNet-18's layer2.0
 * conv1 at batch 256, 2 threads).
 */
const MLAS_PANEL = 16;

/**
 * Whether a 2-D Conv (group 1) with `filters` output channels and `pixels` output pixels per sample runs
 * faster batch-folded: when onnxruntime would run it as one small GEMM per sample (filters > pixels), unless
 * it is pointwise (1x1, stride 1, no padding: then it is already one GEMM per sample, split by samples).
 */
export function foldConv(o: { filters: number; pixels: number; pointwise: boolean }): boolean {
  return !o.pointwise && o.filters > o.pixels;
}

/** Whether a 2-D ConvTranspose (group 1) whose input has `pixels` pixels per sample runs faster folded. */
export const foldConvTranspose = (pixels: number): boolean => pixels < MLAS_PANEL;

export interface FoldAttrs {
  kernel_shape: number[];
  strides: number[];
  dilations: number[];
  /** [top, left, bottom, right] */
  pads: number[];
  /** ConvTranspose only. */
  output_padding?: number[];
}

/**
 * `opType` over X [N, C, H, W] and W [O, C, kh, kw] (ConvTranspose: [C, O, kh, kw]), optional bias [O], with
 * the batch folded into depth; returns [N, O, H', W']. `last` emits the final Transpose (to give it a chosen
 * output name).
 */
export function batchFolded(
  e: OpSink,
  opType: "Conv" | "ConvTranspose",
  [x, w, bias]: [string, string, string?],
  a: FoldAttrs,
  last: (opType: string, inputs: string[], attrs: Attrs) => string = (t, i, at) => e.op(t, i, at),
): string {
  const axes = (v: number[]) => e.constant(int64([v.length], v));
  const depth = e.op("Unsqueeze", [e.op("Transpose", [x], { perm: [1, 0, 2, 3] }), axes([0])]);
  const y = e.op(opType, [depth, e.op("Unsqueeze", [w, axes([2])]), ...(bias ? [bias] : [])], depthAttrs(a));
  return last("Transpose", [e.op("Squeeze", [y, axes([0])])], { perm: [1, 0, 2, 3] });
}

/** The 3-D attributes of a 2-D window with a depth-1 kernel in front (stride 1, no padding in depth). */
export function depthAttrs(a: FoldAttrs): Attrs {
  const attrs: Attrs = {
    kernel_shape: [1, ...a.kernel_shape],
    strides: [1, ...a.strides],
    dilations: [1, ...a.dilations],
    pads: [0, a.pads[0]!, a.pads[1]!, 0, a.pads[2]!, a.pads[3]!],
  };
  if (a.output_padding) attrs.output_padding = [0, ...a.output_padding];
  return attrs;
}
