/**
 * Loss graphs, matching PyTorch:
 * - "mse": `mse_loss(logits, targets)`, the mean over all N*K elements (targets: teacher logits [N,K]).
 * - "ce": `cross_entropy(logits, labels, weight=w)` with int64 labels [N]: -sum_i w[y_i] log p_i[y_i] /
 *   sum_i w[y_i] (w = 1 without class weights, i.e. the mean over the batch).
 * - "neg-ce": minus "ce" (NegGrad: gradient ascent on the forget set by descending this loss).
 * Labels outside [0, K) select nothing (a zero one-hot row) instead of failing; the caller validates them.
 */
import type { Dims } from "../../onnx/graph-view.js";
import type { Emitter } from "./emit.js";
import { BATCH } from "./probe.js";

export type LossKind = "mse" | "ce" | "neg-ce";
export const LOSS_KINDS: readonly LossKind[] = ["mse", "ce", "neg-ce"];

export interface LossOptions {
  kind: LossKind;
  /** Model output [N,K] float32. */
  logits: string;
  /** Teacher logits [N,K] float32 for "mse"; labels int64 [N] for "ce"/"neg-ce". */
  targets: string;
  /** Optional class weights [K] float32 ("ce"/"neg-ce" only). */
  classWeights?: string;
  /** Number of classes (the logits' last dim). */
  numClasses: number;
  /** Name of the scalar loss value. */
  output: string;
  /** Static shapes for the engine; the loss adds those of its one-hot values ([N,K], N symbolic). */
  shapes: Map<string, Dims>;
}

/** Appends the loss nodes; returns the scalar loss value (named `output`). */
export function appendLoss(e: Emitter, opts: LossOptions): string {
  if (opts.kind === "mse") {
    const diff = e.sub(opts.logits, opts.targets);
    return e.opTo(opts.output, "ReduceMean", [e.mul(diff, diff)], { keepdims: 0 });
  }
  const logProbs = e.op("LogSoftmax", [opts.logits], { axis: 1 });
  const depth = e.ints([opts.numClasses], "num_classes");
  const values = e.b.constant(`${e.prefix}/onehot_values`, {
    dtype: "float32",
    dims: [2],
    data: Float32Array.of(0, 1),
  });
  const oneHot = e.op("OneHot", [opts.targets, depth, values], { axis: -1 });
  const weights = opts.classWeights ? e.mul(oneHot, opts.classWeights) : oneHot;
  for (const v of [oneHot, weights]) opts.shapes.set(v, [BATCH, opts.numClasses]);
  const picked = e.reduce("ReduceSum", e.mul(weights, logProbs), undefined, false);
  const meanLogProb = e.div(picked, e.reduce("ReduceSum", weights, undefined, false));
  return e.opTo(opts.output, "Mul", [meanLogProb, e.scalar(opts.kind === "ce" ? -1 : 1, "sign")]);
}
