/**
 * Forgetting quality F and the final score of the NeurIPS 2023 Machine Unlearning Challenge
 * (metric.py `compute_forget_score_from_confs`, main.py's final line).
 */
import { rngFor, type Seed } from "../../data/random.js";
import { UserError } from "../../errors.js";
import { epsilonScorer, type EpsilonOptions } from "./epsilon.js";

export interface Bucket {
  /** Epsilons in [low, high) earn `points`. */
  low: number;
  high: number;
  points: number;
  /** Forget examples in this bucket. */
  count: number;
}

export interface ForgetScore {
  /** Mean points over the forget examples. */
  F: number;
  /** Per-example epsilon in [0, 50] (NaN: no threshold survived, 0 points), in forget-set order. */
  epsilons: Float64Array;
  /** Per-example points (2^-k, or 0). */
  points: Float64Array;
  /** Models per side. */
  N: number;
  /** Forget examples. */
  S: number;
  /** ceil(ln(N - 1)): epsilons from here on earn nothing. */
  maxEps: number;
  buckets: Bucket[];
  /** Percentile bootstrap interval of F over forget examples (resampled with replacement). */
  interval: BootstrapInterval;
}

export interface ForgetScoreOptions extends EpsilonOptions {
  /** Bootstrap resamples for the interval; default 1000 (0: the interval is [F, F]). */
  resamples?: number;
  /** Default 0.95. */
  level?: number;
  /** Seed of the bootstrap; default 0. */
  seed?: Seed;
  /** Names of the two inputs in error messages; default unlearnedConfs / retrainedConfs. */
  names?: [string, string];
}

/**
 * F from the confidences of the forget examples under N unlearned and N retrained models, each [N][S]
 * (model-major, as metric.py takes them). Throws a UserError naming the input and index on N < 2, unequal N,
 * rows of different lengths, or a value that is not a finite number.
 */
export function forgetScore(
  unlearnedConfs: ArrayLike<ArrayLike<number>>,
  retrainedConfs: ArrayLike<ArrayLike<number>>,
  o: ForgetScoreOptions = {},
): ForgetScore {
  const [uName, rName] = o.names ?? ["unlearnedConfs", "retrainedConfs"];
  const S = checkConfs(unlearnedConfs, uName);
  const S2 = checkConfs(retrainedConfs, rName);
  const N = unlearnedConfs.length;
  if (retrainedConfs.length !== N)
    throw new UserError(`${rName} has ${retrainedConfs.length} models, ${uName} has ${N}; the score needs equal N`);
  if (S2 !== S)
    throw new UserError(`${rName} has ${S2} forget examples per model, ${uName} has ${S}; they must be the same set`);

  const score = epsilonScorer(N, o);
  const epsilons = new Float64Array(S);
  const u = new Float64Array(N);
  const r = new Float64Array(N);
  for (let s = 0; s < S; s++) {
    for (let i = 0; i < N; i++) {
      u[i] = unlearnedConfs[i]![s]!;
      r[i] = retrainedConfs[i]![s]!;
    }
    epsilons[s] = score(u, r);
  }
  return scoreEpsilons(epsilons, N, o);
}

/** The buckets for N models: [0.5k, 0.5k + 0.5) earns 2^-k while 0.5k + 0.5 <= ceil(ln(N - 1)). */
export function bucketsFor(N: number): Bucket[] {
  const maxEps = Math.ceil(Math.log(N - 1));
  const buckets: Bucket[] = [];
  for (let low = 0, points = 1; low + 0.5 <= maxEps; low += 0.5, points /= 2)
    buckets.push({ low, high: low + 0.5, points, count: 0 });
  return buckets;
}

/** F, buckets and bootstrap interval from per-example epsilons (as forgetScore, for epsilons computed elsewhere). */
export function scoreEpsilons(epsilons: Float64Array, N: number, o: ForgetScoreOptions = {}): ForgetScore {
  const S = epsilons.length;
  const buckets = bucketsFor(N);
  const points = new Float64Array(S);
  let total = 0;
  epsilons.forEach((e, s) => {
    const b = buckets.find((b) => e < b.high); // NaN matches none: 0 points, as in metric.py's loop
    if (b) {
      b.count++;
      points[s] = b.points;
    }
    total += points[s]!;
  });
  const F = total / S;
  return {
    F,
    epsilons,
    points,
    N,
    S,
    maxEps: Math.ceil(Math.log(N - 1)),
    buckets,
    interval: meanInterval(points, F, o),
  };
}

/** A percentile bootstrap interval of a mean over the forget examples, with the settings that made it. */
export interface BootstrapInterval {
  low: number;
  high: number;
  level: number;
  resamples: number;
  seed: Seed;
}

/**
 * The interval of `mean` (the mean of `values`, one per forget example) with the score's defaults: 1000 resamples,
 * level 0.95, seed 0; 0 resamples gives [mean, mean].
 */
export function meanInterval(
  values: Float64Array,
  mean: number,
  o: Pick<ForgetScoreOptions, "resamples" | "level" | "seed">,
): BootstrapInterval {
  const resamples = o.resamples ?? 1000;
  const level = o.level ?? 0.95;
  const seed = o.seed ?? 0;
  const [low, high] = resamples > 0 ? bootstrapMean(values, resamples, level, seed) : [mean, mean];
  return { low, high, level, resamples, seed };
}

/**
 * Percentile interval of the mean of `values` (one per forget example) over resamples of the forget examples with
 * replacement (numpy's linear percentile). The same seed draws the same resamples for any values of that length.
 */
export function bootstrapMean(values: Float64Array, resamples: number, level: number, seed: Seed): [number, number] {
  const S = values.length;
  const rng = rngFor(seed, "challenge-score", "bootstrap");
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let sum = 0;
    for (let i = 0; i < S; i++) sum += values[Math.floor(rng() * S)]!;
    means[b] = sum / S;
  }
  means.sort();
  const at = (q: number) => {
    const x = q * (resamples - 1);
    const i = Math.floor(x);
    return i + 1 < resamples ? means[i]! + (x - i) * (means[i + 1]! - means[i]!) : means[i]!;
  };
  return [at((1 - level) / 2), at((1 + level) / 2)];
}

/** main.py: F * (mean RA_U / mean RA_R) * (mean TA_U / mean TA_R), from per-model accuracies (no cap at 1). */
export function finalScore(
  F: number,
  unlearnedRetainAcc: ArrayLike<number>,
  retrainedRetainAcc: ArrayLike<number>,
  unlearnedTestAcc: ArrayLike<number>,
  retrainedTestAcc: ArrayLike<number>,
): number {
  return F * (mean(unlearnedRetainAcc) / mean(retrainedRetainAcc)) * (mean(unlearnedTestAcc) / mean(retrainedTestAcc));
}

export function mean(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s / a.length;
}

/** Checks an [N][S] array of finite numbers with N >= 2 and equal rows; returns S. */
function checkConfs(confs: ArrayLike<ArrayLike<number>>, name: string): number {
  if (!isArrayLike(confs)) throw new UserError(`${name} must be an array of per-model arrays ([N][S])`);
  if (confs.length < 2) throw new UserError(`${name} has ${confs.length} model(s); the score needs N >= 2`);
  const problems: string[] = [];
  let S = -1;
  for (let i = 0; i < confs.length && problems.length < 5; i++) {
    const row = confs[i];
    if (!isArrayLike(row)) {
      problems.push(`${name}[${i}] is not an array`);
      continue;
    }
    if (S < 0) S = row.length;
    if (row.length !== S) problems.push(`${name}[${i}] has ${row.length} values, ${name}[0] has ${S}`);
    for (let s = 0; s < row.length && problems.length < 5; s++) {
      const v = row[s];
      if (typeof v !== "number" || !Number.isFinite(v))
        problems.push(`${name}[${i}][${s}] is ${describe(v)}, expected a finite number`);
    }
  }
  if (problems.length) throw new UserError(problems.join("; "));
  if (S === 0) throw new UserError(`${name} has no forget examples`);
  return S;
}

function isArrayLike(x: unknown): x is ArrayLike<unknown> {
  return Array.isArray(x) || ArrayBuffer.isView(x);
}

function describe(v: unknown): string {
  return typeof v === "number" ? String(v) : v === null ? "null" : typeof v === "string" ? JSON.stringify(v) : typeof v;
}
