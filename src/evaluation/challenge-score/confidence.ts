/**
 * The per-example statistic of the challenge: LiRA's logit-scaled confidence, as metric.py's
 * `compute_logit_scaled_confidence` computes it.
 */

/**
 * `log(p_y + 1e-45) - log(sum_{j != y} p_j + 1e-45)` with `p = softmax(z - max z)`, i.e. about log(p_y / (1 - p_y)).
 * Float32Array logits follow metric.py on a float32 model output: `z - max` and `exp` round to float32 (numpy
 * works in the logits' dtype there), then the probabilities are float64. Other inputs are float64 throughout.
 * The sums run left to right (numpy sums 8 lanes at a time): equal to metric.py within a few float64 ulps.
 */
export function logitScaledConfidence(logits: ArrayLike<number>, label: number): number {
  const k = logits.length;
  if (!Number.isInteger(label) || label < 0 || label >= k)
    throw new RangeError(`logitScaledConfidence: label ${label} is not a class of ${k} logits`);
  const asF32 = logits instanceof Float32Array;
  let max = -Infinity;
  for (let j = 0; j < k; j++) if (logits[j]! > max) max = logits[j]!;
  const e = new Float64Array(k);
  let sum = 0;
  for (let j = 0; j < k; j++) {
    e[j] = asF32 ? Math.fround(Math.exp(Math.fround(logits[j]! - max))) : Math.exp(logits[j]! - max);
    sum += e[j]!;
  }
  let wrong = 0;
  for (let j = 0; j < k; j++) if (j !== label) wrong += e[j]! / sum;
  return Math.log(e[label]! / sum + 1e-45) - Math.log(wrong + 1e-45);
}
