/**
 * The NeurIPS 2023 unlearning starting kit's simple membership-inference attack: per-example cross-entropy losses
 * of one model on the forget set (members, label 1) and the test set (non-members, label 0), balanced by
 * subsampling the larger side, attacked by a logistic regression on the loss alone and scored by its accuracy
 * over 10 stratified shuffle splits (sklearn's StratifiedShuffleSplit: 10% held out). 0.5 = nothing to detect.
 *
 * The splits follow sklearn's algorithm (per-class train/test counts by its `_approximate_mode`, then a random
 * permutation of each class) with our own seeded generator, so the counts match sklearn's, the draws do not.
 */
import { UserError } from "../errors.js";
import { rngFor, shuffleInPlace, type Rng, type Seed } from "../data/random.js";
import { fitLogisticRegression, logisticAccuracy } from "./logistic-regression.js";

export interface MiaOptions {
  /** Stratified shuffle splits, default 10. */
  splits?: number;
  /** Held-out fraction of each split (sklearn's test_size), default 0.1. */
  testFraction?: number;
  /** Seeds the balancing subsample and the splits; default 0. */
  seed?: Seed;
  /** Logistic regression's C, default 1. */
  C?: number;
}

export interface MiaResult {
  /** Mean held-out accuracy over the splits. */
  accuracy: number;
  /** Population standard deviation of the split accuracies (the split-to-split spread). */
  std: number;
  min: number;
  max: number;
  splitAccuracies: number[];
  /** Examples of each side the attack used (after balancing), and those it was given. */
  perSide: number;
  forgetCount: number;
  testCount: number;
  splits: number;
  testFraction: number;
}

/** The smallest side the attack can run with: each split must hold out at least one example of each side. */
export function miaMinimumPerSide(testFraction = 0.1): number {
  let m = 2;
  while (Math.ceil(testFraction * 2 * m) < 2 || 2 * m - Math.ceil(testFraction * 2 * m) < 2) m++;
  return m;
}

export function membershipInference(
  forgetLosses: ArrayLike<number>,
  testLosses: ArrayLike<number>,
  o: MiaOptions = {},
): MiaResult {
  const splits = o.splits ?? 10;
  const testFraction = o.testFraction ?? 0.1;
  const seed = o.seed ?? 0;
  if (!(Number.isInteger(splits) && splits >= 1)) throw new UserError(`MIA: splits must be >= 1, got ${splits}`);
  if (!(testFraction > 0 && testFraction < 1))
    throw new UserError(`MIA: testFraction must be in (0, 1), got ${testFraction}`);
  const perSide = Math.min(forgetLosses.length, testLosses.length);
  const minimum = miaMinimumPerSide(testFraction);
  if (perSide < minimum)
    throw new UserError(
      `membership inference needs at least ${minimum} forget and ${minimum} test examples, got ${forgetLosses.length} and ${testLosses.length}`,
    );
  for (const [name, v] of [
    ["forget", forgetLosses],
    ["test", testLosses],
  ] as const)
    for (let i = 0; i < v.length; i++)
      if (!Number.isFinite(v[i])) throw new UserError(`MIA: ${name} loss ${i} is ${v[i]}, expected a finite number`);
  const balance = rngFor(seed, "mia", "balance");
  const take = (v: ArrayLike<number>) =>
    v.length === perSide ? Float64Array.from(v) : Float64Array.from(sample(v.length, perSide, balance), (i) => v[i]!);
  const x = new Float64Array(2 * perSide);
  x.set(take(testLosses), 0);
  x.set(take(forgetLosses), perSide);
  const y = Int32Array.from({ length: 2 * perSide }, (_, i) => (i < perSide ? 0 : 1));
  const folds = stratifiedShuffleSplits(y, { splits, testFraction, rng: rngFor(seed, "mia", "splits") });
  const splitAccuracies = crossValidatedAccuracies(x, 1, y, folds, { C: o.C });
  const accuracy = splitAccuracies.reduce((a, b) => a + b, 0) / splits;
  const std = Math.sqrt(splitAccuracies.reduce((a, v) => a + (v - accuracy) ** 2, 0) / splits);
  return {
    accuracy,
    std,
    min: Math.min(...splitAccuracies),
    max: Math.max(...splitAccuracies),
    splitAccuracies,
    perSide,
    forgetCount: forgetLosses.length,
    testCount: testLosses.length,
    splits,
    testFraction,
  };
}

export interface Split {
  train: Int32Array;
  test: Int32Array;
}

/** Held-out accuracy of a logistic regression fitted on each split's train rows. */
export function crossValidatedAccuracies(
  x: ArrayLike<number>,
  d: number,
  y: ArrayLike<number>,
  splits: Split[],
  o: { C?: number } = {},
): number[] {
  const rows = (idx: Int32Array) => {
    const xs = new Float64Array(idx.length * d);
    idx.forEach((r, k) => {
      for (let j = 0; j < d; j++) xs[k * d + j] = x[r * d + j]!;
    });
    return { xs, ys: Int32Array.from(idx, (r) => y[r]!) };
  };
  return splits.map((s) => {
    const train = rows(s.train);
    const test = rows(s.test);
    return logisticAccuracy(fitLogisticRegression(train.xs, d, train.ys, { C: o.C }), test.xs, test.ys);
  });
}

/**
 * sklearn's StratifiedShuffleSplit(n_splits, test_size) on integer class labels: ceil(testFraction * n) held out,
 * the rest trained on, each class shared out by `approximateMode`.
 */
export function stratifiedShuffleSplits(
  labels: ArrayLike<number>,
  o: { splits: number; testFraction: number; rng: Rng },
): Split[] {
  const n = labels.length;
  const nTest = Math.ceil(o.testFraction * n);
  const nTrain = n - nTest;
  const classes = [...new Set(Array.from(labels))].sort((a, b) => a - b);
  const byClass = classes.map((c) => Int32Array.from(Array.from(labels).flatMap((l, i) => (l === c ? [i] : []))));
  const counts = byClass.map((b) => b.length);
  if (Math.min(...counts) < 2) throw new RangeError("stratifiedShuffleSplits: a class has fewer than 2 members");
  if (nTrain < classes.length || nTest < classes.length)
    throw new RangeError(`stratifiedShuffleSplits: ${nTrain} train / ${nTest} test rows for ${classes.length} classes`);
  const out: Split[] = [];
  for (let s = 0; s < o.splits; s++) {
    const trainPer = approximateMode(counts, nTrain, o.rng);
    const testPer = approximateMode(
      counts.map((c, i) => c - trainPer[i]!),
      nTest,
      o.rng,
    );
    const train: number[] = [];
    const test: number[] = [];
    byClass.forEach((members, i) => {
      const perm = shuffleInPlace(Int32Array.from(members), o.rng);
      train.push(...perm.subarray(0, trainPer[i]));
      test.push(...perm.subarray(trainPer[i], trainPer[i]! + testPer[i]!));
    });
    out.push({
      train: shuffleInPlace(Int32Array.from(train), o.rng),
      test: shuffleInPlace(Int32Array.from(test), o.rng),
    });
  }
  return out;
}

/**
 * sklearn's `_approximate_mode`: shares `draws` among classes in proportion to `counts`, flooring, then gives the
 * rest one each to the classes of largest remainder, ties broken at random.
 */
export function approximateMode(counts: number[], draws: number, rng: Rng): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  const continuous = counts.map((c) => (c / total) * draws);
  const floored = continuous.map(Math.floor);
  let need = draws - floored.reduce((a, b) => a + b, 0);
  const remainders = continuous.map((c, i) => c - floored[i]!);
  for (const value of [...new Set(remainders)].sort((a, b) => b - a)) {
    if (need <= 0) break;
    const tied = Int32Array.from(remainders.flatMap((r, i) => (r === value ? [i] : [])));
    const chosen = shuffleInPlace(tied, rng).subarray(0, Math.min(tied.length, need));
    for (const i of chosen) floored[i]++;
    need -= chosen.length;
  }
  return floored;
}

/** `k` distinct indices of 0..n-1, drawn at random. */
function sample(n: number, k: number, rng: Rng): Int32Array {
  return shuffleInPlace(
    Int32Array.from({ length: n }, (_, i) => i),
    rng,
  )
    .subarray(0, k)
    .slice();
}
