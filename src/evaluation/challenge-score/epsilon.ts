/**
 * The per-example epsilon of the NeurIPS 2023 Machine Unlearning Challenge (metric.py `_get_epsilons`): the
 * strongest of two families of threshold attacks telling the N unlearned confidences of one forget example from
 * the N retrained ones. metric.py builds about 160,000 window rates per example on a GPU; here each side is
 * sorted once and every threshold is a count (binary search, or a pointer walked along the sorted values), so the
 * rates are exact counts / N. The thresholds themselves are computed exactly as metric.py computes them.
 */
import { numpyLinspace, torchLinspaceF32, type TorchGrid } from "./linspace.js";

export const DELTA = 1e-5;
export const EPSILON_CAP = 50;
export const THRESHOLDS_PER_UNIT = 100;
export const WINDOW_BUFFER = 2;
/** Below this ratio of the narrower to the wider spread, the example gets EPSILON_CAP outright. */
export const SPREAD_RATIO = 0.01;

export interface EpsilonOptions {
  /** How the single-threshold grid (a float32 torch.linspace) rounds; default "torch2". */
  singleThresholdGrid?: TorchGrid;
}

/**
 * Epsilon of one forget example from its N unlearned and N retrained confidences (equal N, finite values; see
 * forgetScore for validated input). In [0, 50]; 50 also for perfect separation and for the 1% spread rule.
 * NaN where every threshold is discarded (possible only in degenerate cases such as all 2N values equal,
 * where metric.py stops at its `assert`); such an example earns no points.
 */
export function exampleEpsilon(unlearned: Float64Array, retrained: Float64Array, o: EpsilonOptions = {}): number {
  return epsilonScorer(unlearned.length, o)(unlearned, retrained);
}

/** exampleEpsilon for many examples of the same N: the log tables are built once. */
export function epsilonScorer(n: number, o: EpsilonOptions = {}): (u: Float64Array, r: Float64Array) => number {
  const grid = o.singleThresholdGrid ?? "torch2";
  const rates = new RateEpsilon(n);
  return (unlearned, retrained) => {
    if (unlearned.length !== n || retrained.length !== n)
      throw new RangeError(
        `exampleEpsilon: expected ${n} values per side, got ${unlearned.length} and ${retrained.length}`,
      );
    const u = Float64Array.from(unlearned).sort();
    const r = Float64Array.from(retrained).sort();
    // The positive side is the one with the larger median (ties: unlearned).
    const [pos, neg] = median(r) > median(u) ? [r, u] : [u, r];
    const posDiff = pos[n - 1]! - pos[0]!;
    const negDiff = neg[n - 1]! - neg[0]!;
    const largest = posDiff > negDiff ? posDiff : negDiff;
    const smallest = posDiff > negDiff ? negDiff : posDiff;
    // 0 / 0 is NaN and does not count as peaky, as in numpy.
    if (smallest / largest < SPREAD_RATIO) return EPSILON_CAP;
    const best = new Best(rates);
    const add = (fp: number, fn: number) => best.add(fp, fn);
    if (!windowAttack(pos, neg, add)) singleThresholdAttack(pos, neg, grid, add);
    return Math.min(Math.max(best.value, 0), EPSILON_CAP);
  };
}

function median(sorted: Float64Array): number {
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

/** eps(FPR, FNR) with counts out of n: `max(log(1-d-FPR) - log(FNR), log(1-d-FNR) - log(FPR))` and its rules. */
class RateEpsilon {
  /** log(1 - DELTA - k/n) (NaN at k = n), log(k/n). */
  readonly logComplement: Float64Array;
  readonly logRate: Float64Array;
  constructor(readonly n: number) {
    this.logComplement = new Float64Array(n + 1).map((_, k) => Math.log(1 - DELTA - k / n));
    this.logRate = new Float64Array(n + 1).map((_, k) => Math.log(k / n));
  }
}

/** The running nanmax over thresholds: Infinity once FPR = FNR = 0, NaN while nothing has been kept. */
class Best {
  value = NaN;
  constructor(readonly rates: RateEpsilon) {}

  /** One threshold: fp false positives, fn false negatives, both out of n. True once the value is Infinity. */
  add(fp: number, fn: number): boolean {
    if (fp === 0 || fn === 0) {
      if (fp === fn) this.value = Infinity;
      return fp === fn; // exactly one rate is 0: discarded as an artefact of few samples
    }
    const { logComplement: lc, logRate: lr } = this.rates;
    const a = lc[fp]! - lr[fn]!;
    const b = lc[fn]! - lr[fp]!;
    let e = a !== a ? b : b !== b ? a : a > b ? a : b; // nanmax
    if (e !== e) return false;
    if (e < 0) e = 0;
    if (!(this.value >= e)) this.value = e;
    return false;
  }
}

/** Number of values < x in sorted a. */
function countBelow(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Number of values <= x in sorted a. */
function countAtMost(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** countBelow(a, x) from a previous answer p for a nearby x (the grids are increasing). */
function walkBelow(a: Float64Array, x: number, p: number): number {
  while (p < a.length && a[p]! < x) p++;
  while (p > 0 && a[p - 1]! >= x) p--;
  return p;
}

/**
 * Receives each threshold's false positives and false negatives (counts out of N); returning true stops the
 * attack (perfect separation: nothing can beat it).
 */
export type RateSink = (fp: number, fn: number) => boolean;

/**
 * Predict "positive" when c >= t, over linspace(min, max, ceil(range * 100)) of the pooled values (float32).
 * `pos` and `neg` sorted, positive = larger median. Returns true if `add` stopped it. Exported for tests.
 */
export function singleThresholdAttack(pos: Float64Array, neg: Float64Array, grid: TorchGrid, add: RateSink): boolean {
  const n = pos.length;
  const min = Math.min(pos[0]!, neg[0]!);
  const max = Math.max(pos[n - 1]!, neg[n - 1]!);
  const thresholds = torchLinspaceF32(min, max, Math.ceil((max - min) * THRESHOLDS_PER_UNIT), grid);
  let pBelow = 0;
  let nBelow = 0;
  for (const t of thresholds) {
    pBelow = walkBelow(pos, t, pBelow);
    nBelow = walkBelow(neg, t, nBelow);
    if (add(n - nBelow, pBelow)) return true; // fp: negatives >= t; fn: positives < t
  }
  return false;
}

/**
 * Predict "positive" when l <= c <= r, positive being the narrower side (ties: the median-negative side) of
 * range w: right edges linspace(min + w - 2, max + 2, ceil((max + 2 - (min + w - 2)) * 100)) of that side,
 * 400 left edges linspace(r - w - 2, r - w + 2, 400) for each. Arguments as singleThresholdAttack's; a run of
 * left edges giving the same counts is reported once.
 */
export function windowAttack(medianPos: Float64Array, medianNeg: Float64Array, add: RateSink): boolean {
  const n = medianPos.length;
  const posDiff = medianPos[n - 1]! - medianPos[0]!;
  const negDiff = medianNeg[n - 1]! - medianNeg[0]!;
  const width = posDiff > negDiff ? negDiff : posDiff;
  const [pos, neg] = posDiff >= negDiff ? [medianNeg, medianPos] : [medianPos, medianNeg];
  const min = pos[0]! + width - WINDOW_BUFFER;
  const max = pos[n - 1]! + WINDOW_BUFFER;
  const rights = numpyLinspace(min, max, Math.ceil((max - min) * THRESHOLDS_PER_UNIT));
  const numLeft = Math.ceil(2 * WINDOW_BUFFER * THRESHOLDS_PER_UNIT);
  const div = numLeft - 1;
  for (const r of rights) {
    const pIn = countAtMost(pos, r);
    const nIn = countAtMost(neg, r);
    // np.linspace(r - w - 2, r - w + 2, 400), inlined.
    const start = r - width - WINDOW_BUFFER;
    const stop = r - width + WINDOW_BUFFER;
    const delta = stop - start;
    const step = delta / div;
    let pBelow = countBelow(pos, start);
    let nBelow = countBelow(neg, start);
    let lastTp = -1;
    let lastFp = -1;
    for (let j = 0; j < numLeft; j++) {
      const l = j === div ? stop : step === 0 ? (j / div) * delta + start : j * step + start;
      pBelow = walkBelow(pos, l, pBelow);
      nBelow = walkBelow(neg, l, nBelow);
      const tp = pIn > pBelow ? pIn - pBelow : 0;
      const fp = nIn > nBelow ? nIn - nBelow : 0;
      if (tp === lastTp && fp === lastFp) continue;
      lastTp = tp;
      lastFp = fp;
      if (add(fp, n - tp)) return true;
    }
  }
  return false;
}
