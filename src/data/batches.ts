/**
 * Batches for training and evaluation: an async iterator over one epoch of an Examples collection, with seeded
 * shuffling, normalisation, Gaussian input noise, class weights and prefetching. The shuffle order and the noise
 * are drawn from streams named by (seed, epoch, batch index), so the same options give the same batches bit for
 * bit, however fast the consumer is.
 */
import { UserError } from "../errors.js";
import { checkNormalisation, type Normalisation } from "./normalise.js";
import { GaussianStream } from "./gaussian.js";
import { classCounts, rngFor, shuffleInPlace, type Seed } from "./random.js";
import type { Examples, ReadFailure } from "./types.js";
import { imageSize } from "./types.js";

export interface Batch {
  /** Images [size, C, H, W], normalised, noise added. */
  x: Float32Array;
  dims: [number, number, number, number];
  /** Labels, int64 (default) or int32 by `labelType`. */
  y: BigInt64Array | Int32Array;
  /** ids of the examples in the batch, in batch order. */
  ids: Int32Array;
  /** Per-example weights (classWeights[label]), only when class weights are asked for. */
  weights?: Float32Array;
  /** Index of the batch within the epoch. */
  index: number;
}

export interface BatchOptions {
  /** Examples per batch (default 64). */
  batchSize?: number;
  /** Run seed (default 0). */
  seed?: Seed;
  /** Epoch number: each epoch gets its own order and noise (default 0). */
  epoch?: number;
  /** Shuffle the examples (default true for trainingBatches, false for evaluationBatches). */
  shuffle?: boolean;
  /** Standard deviation of the Gaussian noise added after normalisation (default 0.01 for trainingBatches, 0 for evaluationBatches). */
  noiseSigma?: number;
  /** Per-channel mean/std (default: none, images stay on the source's scale). */
  normalisation?: Normalisation;
  /** Per-class weights, or "balanced" (count-inverse: n / (classes * count[c])); default none. */
  classWeights?: number[] | "balanced";
  /** Drop the last batch when it is smaller than batchSize (default false for both). */
  dropLast?: boolean;
  /** Label array type (default "int64"). */
  labelType?: "int64" | "int32";
  /** Batches prepared ahead of the consumer (default 2). */
  prefetch?: number;
  /** Called for every example that could not be read (corrupt file, skip policy); default: process.emitWarning. */
  onSkip?: (failure: ReadFailure) => void;
}

/** One training epoch: shuffled, noise sigma 0.01, unless the options say otherwise. */
export function trainingBatches(examples: Examples, options: BatchOptions = {}): AsyncGenerator<Batch> {
  return batches(examples, { shuffle: true, noiseSigma: 0.01, ...options });
}

/** One pass in order, no noise, last partial batch kept, unless the options say otherwise. */
export function evaluationBatches(examples: Examples, options: BatchOptions = {}): AsyncGenerator<Batch> {
  return batches(examples, { shuffle: false, noiseSigma: 0, ...options });
}

/** Number of batches one epoch gives (before any skipped corrupt files). */
export function batchCount(examples: Examples, options: Pick<BatchOptions, "batchSize" | "dropLast"> = {}): number {
  const size = options.batchSize ?? 64;
  return options.dropLast ? Math.floor(examples.count / size) : Math.ceil(examples.count / size);
}

async function* batches(examples: Examples, options: BatchOptions): AsyncGenerator<Batch> {
  const plan = planEpoch(examples, options);
  const depth = Math.max(1, options.prefetch ?? 2);
  const pending: Promise<Batch>[] = [];
  let next = 0;
  const schedule = () => {
    while (pending.length < depth && next < plan.batches) {
      const index = next++;
      const p = new Promise<void>((resolve) => setImmediate(resolve)).then(() => makeBatch(examples, plan, index));
      p.catch(() => undefined); // an error surfaces when this batch is awaited; never unhandled meanwhile
      pending.push(p);
    }
  };
  schedule();
  while (pending.length > 0) {
    const batch = await pending.shift()!;
    schedule();
    if (batch.ids.length > 0) yield batch;
  }
}

interface EpochPlan {
  order: Int32Array;
  batchSize: number;
  batches: number;
  seed: Seed;
  epoch: number;
  noiseSigma: number;
  scale?: Float32Array;
  shift?: Float32Array;
  weights?: number[];
  labelType: "int64" | "int32";
  onSkip: (failure: ReadFailure) => void;
}

function planEpoch(examples: Examples, options: BatchOptions): EpochPlan {
  const batchSize = options.batchSize ?? 64;
  const epoch = options.epoch ?? 0;
  const seed = options.seed ?? 0;
  const noiseSigma = options.noiseSigma ?? 0;
  const problems: string[] = [];
  if (!(Number.isSafeInteger(batchSize) && batchSize > 0))
    problems.push(`batchSize must be a positive integer, got ${batchSize}`);
  if (!(Number.isSafeInteger(epoch) && epoch >= 0)) problems.push(`epoch must be an integer >= 0, got ${epoch}`);
  if (!(Number.isFinite(noiseSigma) && noiseSigma >= 0)) problems.push(`noiseSigma must be >= 0, got ${noiseSigma}`);
  if (problems.length) throw new UserError(`bad batch options: ${problems.join("; ")}`);
  if (examples.count === 0) throw new UserError("no examples to batch (empty set)");
  const order = Int32Array.from({ length: examples.count }, (_, i) => i);
  if (options.shuffle) shuffleInPlace(order, rngFor(seed, "shuffle", `epoch ${epoch}`));
  let scale: Float32Array | undefined, shift: Float32Array | undefined;
  if (options.normalisation) {
    const { mean, std } = options.normalisation;
    checkNormalisation(options.normalisation, examples.shape.channels);
    scale = Float32Array.from(std, (s) => 1 / s);
    shift = Float32Array.from(mean, (m, c) => -m / std[c]);
  }
  return {
    order,
    batchSize,
    seed,
    epoch,
    noiseSigma,
    scale,
    shift,
    batches: batchCount(examples, { batchSize, dropLast: options.dropLast }),
    weights: classWeightsFor(examples, options.classWeights),
    labelType: options.labelType ?? "int64",
    onSkip: options.onSkip ?? ((f) => process.emitWarning(`skipped: ${f.message}`)),
  };
}

function classWeightsFor(examples: Examples, weights: BatchOptions["classWeights"]): number[] | undefined {
  if (weights === undefined) return undefined;
  if (weights === "balanced") {
    const counts = classCounts(examples.labels, examples.numClasses);
    return counts.map((n) => (n > 0 ? examples.count / (examples.numClasses * n) : 0));
  }
  if (weights.length !== examples.numClasses || weights.some((w) => !(Number.isFinite(w) && w >= 0))) {
    throw new UserError(`classWeights must be ${examples.numClasses} finite numbers >= 0, got [${weights}]`);
  }
  return weights;
}

async function makeBatch(examples: Examples, plan: EpochPlan, index: number): Promise<Batch> {
  const size = imageSize(examples.shape);
  const plane = examples.shape.height * examples.shape.width;
  const start = index * plan.batchSize;
  let positions = plan.order.subarray(start, Math.min(start + plan.batchSize, plan.order.length));
  let x = new Float32Array(positions.length * size);
  const failures = await examples.readImages(positions, x);
  if (failures.length > 0) {
    failures.forEach(plan.onSkip);
    ({ positions, x } = withoutFailures(positions, x, size, failures));
  }
  const n = positions.length;
  const { scale, shift } = plan;
  if (scale && shift) {
    const channels = examples.shape.channels;
    for (let block = 0; block < n * channels; block++) {
      const a = scale[block % channels],
        b = shift[block % channels];
      for (let i = block * plane; i < (block + 1) * plane; i++) x[i] = x[i] * a + b;
    }
  }
  if (plan.noiseSigma > 0) new GaussianStream(noiseStreamName(plan.seed, plan.epoch, index)).addTo(x, plan.noiseSigma);
  const labels = Int32Array.from(positions, (p) => examples.labels[p]);
  const batch: Batch = {
    x,
    dims: [n, examples.shape.channels, examples.shape.height, examples.shape.width],
    y: plan.labelType === "int32" ? labels : BigInt64Array.from(labels, (c) => BigInt(c)),
    ids: Int32Array.from(positions, (p) => examples.ids[p]),
    index,
  };
  if (plan.weights) batch.weights = Float32Array.from(labels, (c) => plan.weights![c]);
  return batch;
}

/** The name of the noise stream of one batch: the run seed, the epoch and the batch index. */
function noiseStreamName(seed: Seed, epoch: number, batch: number): string {
  return `${String(seed)}/noise/epoch ${epoch}/batch ${batch}`;
}

function withoutFailures(positions: Int32Array, x: Float32Array, size: number, failures: ReadFailure[]) {
  const bad = new Set(failures.map((f) => f.index));
  const keep: number[] = [];
  positions.forEach((p, k) => {
    if (!bad.has(p)) keep.push(k);
  });
  const kept = new Float32Array(keep.length * size);
  keep.forEach((k, j) => kept.set(x.subarray(k * size, (k + 1) * size), j * size));
  return { positions: Int32Array.from(keep, (k) => positions[k]), x: kept };
}
