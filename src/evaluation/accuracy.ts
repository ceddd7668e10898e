/**
 * Accuracy and logits of a model over a set of examples (no noise, in order).
 */
import { evaluationBatches, type Examples, type Normalisation } from "../data/index.js";
import type { Tensor } from "../onnx/tensor.js";

/** Batch size of scoring (accuracy, per-example evaluation, eval), unless a caller says otherwise. */
export const EVAL_BATCH_SIZE = 256;

/** Anything that maps a float32 batch to logits [N, K]: an InferenceModel, or a TrainingSession's evaluate. */
export type Classifier = (batch: Tensor) => Promise<Tensor>;

export interface EvaluateOptions {
  normalisation?: Normalisation;
  /** Default 256. */
  batchSize?: number;
  /** Evaluate at most this many examples, evenly spaced over the set (sets are often ordered by class). Default all. */
  limit?: number;
}

export interface Evaluation {
  count: number;
  correct: number;
  accuracy: number;
  /** Mean cross-entropy of the true labels. */
  loss: number;
}

export async function evaluate(model: Classifier, examples: Examples, o: EvaluateOptions = {}): Promise<Evaluation> {
  const subset =
    o.limit !== undefined && o.limit < examples.count
      ? examples.select(Array.from({ length: o.limit }, (_, i) => Math.floor((i * examples.count) / o.limit!)))
      : examples;
  let correct = 0;
  let count = 0;
  let loss = 0;
  for await (const b of evaluationBatches(subset, {
    batchSize: o.batchSize ?? EVAL_BATCH_SIZE,
    normalisation: o.normalisation,
    labelType: "int32",
  })) {
    const logits = await model({ dtype: "float32", dims: b.dims, data: b.x });
    const k = logits.dims[1]!;
    const z = logits.data as Float32Array;
    for (let i = 0; i < b.dims[0]; i++) {
      const row = z.subarray(i * k, (i + 1) * k);
      let arg = 0;
      for (let j = 1; j < k; j++) if (row[j]! > row[arg]!) arg = j;
      const label = Number(b.y[i]);
      if (arg === label) correct++;
      const max = row[arg]!;
      let sum = 0;
      for (let j = 0; j < k; j++) sum += Math.exp(row[j]! - max);
      loss += Math.log(sum) + max - row[label]!;
      count++;
    }
  }
  return { count, correct, accuracy: count ? correct / count : NaN, loss: count ? loss / count : NaN };
}
