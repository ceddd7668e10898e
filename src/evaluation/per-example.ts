/**
 * Per-example evaluation of a classifier in eval mode (no noise, the collection's order): predicted class,
 * cross-entropy loss and the challenge's logit-scaled confidence of every example, and the raw logits of those
 * asked for. Aggregates per split and per class.
 */
import { evaluationBatches, type Examples, type Normalisation } from "../data/index.js";
import { UserError } from "../errors.js";
import { EVAL_BATCH_SIZE, type Classifier } from "./accuracy.js";

export interface PerExampleOptions {
  normalisation?: Normalisation;
  /** Default 256. */
  batchSize?: number;
  /** Positions (ascending) whose logits to keep: "all", or a list; default none. */
  keepLogits?: "all" | Int32Array;
  /** Names the model and the set in errors, e.g. "model.onnx on forget". */
  subject?: string;
}

export interface PerExample {
  count: number;
  /** Number of logits per example (the model's classes). */
  numClasses: number;
  ids: Int32Array;
  labels: Int32Array;
  predicted: Int32Array;
  /** Cross-entropy of the true label, float64 from the float32 logits. */
  loss: Float64Array;
  /** log(p_y / (1 - p_y)) as the challenge computes it (logitScaledConfidence). */
  confidence: Float64Array;
  /** The logits of the kept positions, numClasses each, in the order of `positions`. */
  kept: { positions: Int32Array; logits: Float32Array };
}

export async function evaluatePerExample(
  model: Classifier,
  examples: Examples,
  o: PerExampleOptions = {},
): Promise<PerExample> {
  const n = examples.count;
  const predicted = new Int32Array(n);
  const loss = new Float64Array(n);
  const confidence = new Float64Array(n);
  const keepAll = o.keepLogits === "all";
  const keepList = o.keepLogits instanceof Int32Array ? o.keepLogits : new Int32Array(0);
  const keptPositions = keepAll ? Int32Array.from({ length: n }, (_, i) => i) : keepList;
  let kept = new Float32Array(0);
  let k = 0;
  let at = 0; // position of the next example
  let nextKept = 0; // index into keptPositions
  for await (const b of evaluationBatches(examples, {
    batchSize: o.batchSize ?? EVAL_BATCH_SIZE,
    normalisation: o.normalisation,
    labelType: "int32",
  })) {
    const logits = await model({ dtype: "float32", dims: b.dims, data: b.x });
    const rows = b.dims[0];
    if (logits.dims.length !== 2 || logits.dims[0] !== rows)
      throw new UserError(`output has shape [${logits.dims}], expected logits [${rows}, classes]`, o.subject);
    if (k === 0) {
      k = logits.dims[1]!;
      if (k < 2) throw new UserError(`output has ${k} logit per example, expected one per class`, o.subject);
      kept = new Float32Array(keptPositions.length * k);
    }
    const z = logits.data as Float32Array;
    for (let i = 0; i < rows; i++, at++) {
      const row = z.subarray(i * k, (i + 1) * k);
      const label = examples.labels[at]!;
      if (label >= k)
        throw new UserError(`example id ${examples.ids[at]} has label ${label}, the model has ${k} classes`, o.subject);
      if (row.some((v) => !Number.isFinite(v)))
        throw new UserError(`logits of example id ${examples.ids[at]} are not finite: [${Array.from(row)}]`, o.subject);
      const s = exampleStatistics(row, label);
      predicted[at] = s.predicted;
      loss[at] = s.loss;
      confidence[at] = s.confidence;
      if (nextKept < keptPositions.length && keptPositions[nextKept] === at) kept.set(row, k * nextKept++);
    }
  }
  if (at !== n) throw new UserError(`read ${at} of ${n} examples (unreadable files skipped?)`, o.subject);
  return {
    count: n,
    numClasses: k,
    ids: examples.ids,
    labels: examples.labels,
    predicted,
    loss,
    confidence,
    kept: { positions: keptPositions, logits: kept },
  };
}

/** Predicted class (first maximum), cross-entropy and logit-scaled confidence of one row of logits. */
export function exampleStatistics(
  logits: ArrayLike<number>,
  label: number,
): { predicted: number; loss: number; confidence: number } {
  const k = logits.length;
  let arg = 0;
  for (let j = 1; j < k; j++) if (logits[j]! > logits[arg]!) arg = j;
  const max = logits[arg]!;
  const e = new Float64Array(k);
  for (let j = 0; j < k; j++) e[j] = Math.exp(logits[j]! - max);
  const sum = pairwiseSum(e);
  return { predicted: arg, loss: Math.log(sum) - (logits[label]! - max), confidence: confidenceOf(e, sum, label) };
}

/**
 * The NeurIPS 2023 challenge's logit-scaled confidence (metric.py, compute_logit_scaled_confidence), in float64:
 * p = softmax(z - max(z)); conf = log(p_y + 1e-45) - log(sum_{j != y} p_j + 1e-45). The sums run in numpy's
 * pairwise order. (The organisers subtract and exponentiate in float32 before casting to float64; here every step
 * is float64, a difference of about 1e-7 in conf.)
 */
export function logitScaledConfidence(logits: ArrayLike<number>, label: number): number {
  let max = -Infinity;
  for (let j = 0; j < logits.length; j++) max = Math.max(max, logits[j]!);
  const e = Float64Array.from(logits, (v) => Math.exp(v - max));
  return confidenceOf(e, pairwiseSum(e), label);
}

function confidenceOf(e: Float64Array, sum: number, label: number): number {
  const p = e.map((v) => v / sum);
  const correct = p[label]!;
  p[label] = 0;
  return Math.log(correct + 1e-45) - Math.log(pairwiseSum(p) + 1e-45);
}

/** numpy's pairwise summation (npy_pairwise_sum), so that a sum over classes rounds as numpy's does. */
export function pairwiseSum(a: Float64Array, from = 0, n = a.length): number {
  if (n < 8) {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[from + i]!;
    return s;
  }
  if (n <= 128) {
    const r = Array.from({ length: 8 }, (_, j) => a[from + j]!);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[from + i + j]!;
    let s = r[0]! + r[1]! + (r[2]! + r[3]!) + (r[4]! + r[5]! + (r[6]! + r[7]!));
    for (; i < n; i++) s += a[from + i]!;
    return s;
  }
  let half = Math.floor(n / 2);
  half -= half % 8;
  return pairwiseSum(a, from, half) + pairwiseSum(a, from + half, n - half);
}

export interface ClassAccuracy {
  count: number;
  correct: number;
  /** null for a class with no example. */
  accuracy: number | null;
}

export interface SplitSummary {
  count: number;
  correct: number;
  accuracy: number;
  /** Mean cross-entropy. */
  loss: number;
  /** Indexed by class. */
  perClass: ClassAccuracy[];
}

/** Accuracy, mean loss and per-class accuracy of a per-example evaluation. */
export function summarise(r: PerExample, numClasses: number): SplitSummary {
  const perClass: ClassAccuracy[] = Array.from({ length: numClasses }, () => ({
    count: 0,
    correct: 0,
    accuracy: null,
  }));
  let correct = 0;
  let loss = 0;
  for (let i = 0; i < r.count; i++) {
    const c = perClass[r.labels[i]!]!;
    c.count++;
    loss += r.loss[i]!;
    if (r.predicted[i] === r.labels[i]) {
      c.correct++;
      correct++;
    }
  }
  for (const c of perClass) c.accuracy = c.count ? c.correct / c.count : null;
  return {
    count: r.count,
    correct,
    accuracy: r.count ? correct / r.count : NaN,
    loss: r.count ? loss / r.count : NaN,
    perClass,
  };
}
