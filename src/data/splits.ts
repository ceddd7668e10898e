import { UserError } from "../errors.js";
import { classCounts, proportionalCounts, rngFor, shuffleInPlace, splitByClass, type Seed } from "./random.js";
import type { Dataset, Examples } from "./types.js";

/** Options every source accepts for its splits. */
export interface SplitOptions {
  /**
   * Fraction of the training split held out as validation, stratified by class (default 0: no validation).
   * Drawn with `splitSeed`, so the same fraction always gives the same validation set.
   */
  validationFraction?: number;
  /** Seed of the fixed splits (default "split-v1"); it is not the run seed. */
  splitSeed?: Seed;
  /**
   * Keep only this many training examples, drawn at random with `splitSeed` (after the validation split; test
   * and validation are unchanged). The benchmark's fmnist-5k uses 5,000. Default: all.
   */
  trainSubset?: number;
}

/** For sources without a published test set: the held-out size. */
export interface TestSplitOptions extends SplitOptions {
  /** Fraction of all examples held out for test, stratified by class (default: the source's). */
  testFraction?: number;
}

export const DEFAULT_SPLIT_SEED = "split-v1";

export interface BuildDatasetOptions {
  spec: string;
  all: Examples;
  classNames: string[];
  notes: string[];
  /** Positions in `all` of the test split: given (published split) or drawn. */
  test: Int32Array | { count: number };
  validationFraction?: number;
  splitSeed?: Seed;
}

/** Builds the train / validation / test views of a source's examples. */
export function buildDataset(options: BuildDatasetOptions): Dataset {
  const { spec, all, classNames } = options;
  const seed = options.splitSeed ?? DEFAULT_SPLIT_SEED;
  // the source kind, not the whole spec: a split must not change when the data folder moves
  const kind = spec.split(":")[0]!;
  const notes = [...options.notes];
  let test: Int32Array, train: Int32Array;
  if (options.test instanceof Int32Array) {
    test = options.test;
    train = otherPositions(test, all.count);
  } else {
    const counts = classCounts(all.labels, all.numClasses);
    const { count } = options.test;
    const split = splitByClass(all.labels, proportionalCounts(counts, count), rngFor(seed, kind, "test"));
    test = split.taken;
    train = split.rest;
    notes.push(`test split: ${count} examples drawn stratified by class with split seed '${seed}'`);
  }
  let validation = new Int32Array(0);
  const vf = options.validationFraction ?? 0;
  if (vf > 0) {
    const trainLabels = Int32Array.from(train, (p) => all.labels[p]);
    const counts = classCounts(trainLabels, all.numClasses);
    const take = proportionalCounts(counts, Math.round(vf * train.length));
    const split = splitByClass(trainLabels, take, rngFor(seed, kind, "validation", vf));
    validation = Int32Array.from(split.taken, (k) => train[k]);
    train = Int32Array.from(split.rest, (k) => train[k]);
    notes.push(
      `validation split: ${validation.length} training examples (fraction ${vf}) drawn stratified by class with split seed '${seed}'`,
    );
  }
  return {
    spec,
    shape: all.shape,
    numClasses: all.numClasses,
    classNames,
    all,
    notes,
    train: all.select(train),
    validation: all.select(validation),
    test: all.select(test),
  };
}

/** The positions 0..count-1 not in `positions`, ascending. */
export function otherPositions(positions: ArrayLike<number>, count: number): Int32Array {
  const taken = new Uint8Array(count);
  let n = count;
  for (let k = 0; k < positions.length; k++)
    if (!taken[positions[k]]) {
      taken[positions[k]] = 1;
      n--;
    }
  const rest = new Int32Array(n);
  let k = 0;
  for (let p = 0; p < count; p++) if (!taken[p]) rest[k++] = p;
  return rest;
}

/** Checks a fraction option in [0, 1) (or [0, 1] when `allowOne`), naming the option. */
export function checkFraction(name: string, value: number | undefined, allowOne = false): void {
  if (value === undefined) return;
  if (!(Number.isFinite(value) && value >= 0 && (allowOne ? value <= 1 : value < 1))) {
    throw new UserError(`${name} must be a number in [0, ${allowOne ? "1]" : "1)"}, got ${value}`);
  }
}

/** The test fraction of the sources without a published test set (mnist, folder, npy). */
export const DEFAULT_TEST_FRACTION = 0.2;

export function testCount(total: number, fraction = DEFAULT_TEST_FRACTION): { count: number } {
  return { count: Math.round(total * fraction) };
}

/** The dataset with its train split cut to `size` examples drawn with the split seed (sorted positions). */
export function subsetTrainSplit(dataset: Dataset, size: number, splitSeed: Seed = DEFAULT_SPLIT_SEED): Dataset {
  if (!Number.isInteger(size) || size < 1)
    throw new UserError(`--train-subset expects a whole number >= 1, got ${size}`, dataset.spec);
  if (size > dataset.train.count) {
    throw new UserError(`--train-subset ${size} exceeds the ${dataset.train.count} training examples`, dataset.spec);
  }
  if (size === dataset.train.count) return dataset;
  const kind = dataset.spec.split(":")[0]!;
  const order = shuffleInPlace(
    Int32Array.from({ length: dataset.train.count }, (_, i) => i),
    rngFor(splitSeed, kind, "train-subset", size),
  );
  const keep = order.subarray(0, size).sort();
  const notes = [
    ...dataset.notes,
    `train subset: ${size} of ${dataset.train.count} training examples drawn with split seed '${splitSeed}'`,
  ];
  return { ...dataset, train: dataset.train.select(keep), notes };
}
