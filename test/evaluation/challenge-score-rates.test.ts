/**
 * The fast attacks (sorted values, counts by binary search and pointer walks) against a plain reading of
 * metric.py (every threshold, every value compared), on data whose values sit exactly on the thresholds, where
 * any slip between < and <= shows. Compared: the set of (false positives, false negatives) pairs each family
 * produces, and the epsilon.
 */
import { expect } from "chai";
import { rngFor } from "../../src/data/random.js";
import { exampleEpsilon, numpyLinspace, torchLinspaceF32 } from "../../src/evaluation/challenge-score/index.js";
import { singleThresholdAttack, windowAttack } from "../../src/evaluation/challenge-score/epsilon.js";
import type { TorchGrid } from "../../src/evaluation/challenge-score/linspace.js";

type Pairs = Set<string>;
const min = (a: number[]) => Math.min(...a);
const max = (a: number[]) => Math.max(...a);
const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};

/** metric.py _get_single_threshold_rates: predicted positive iff c >= t. */
function plainSingle(pos: number[], neg: number[], grid: TorchGrid): [number, number][] {
  const lo = min([...pos, ...neg]);
  const hi = max([...pos, ...neg]);
  return Array.from(torchLinspaceF32(lo, hi, Math.ceil((hi - lo) * 100), grid), (t) => [
    neg.filter((c) => c >= t).length,
    pos.filter((c) => c < t).length,
  ]);
}

/** metric.py _get_double_threshold_rates: the narrower side is positive, predicted iff l <= c <= r. */
function plainWindow(pos: number[], neg: number[]): [number, number][] {
  const posDiff = max(pos) - min(pos);
  const negDiff = max(neg) - min(neg);
  const width = posDiff > negDiff ? negDiff : posDiff;
  const [p, q] = posDiff >= negDiff ? [neg, pos] : [pos, neg];
  const lo = min(p) + width - 2;
  const hi = max(p) + 2;
  const out: [number, number][] = [];
  for (const r of numpyLinspace(lo, hi, Math.ceil((hi - lo) * 100)))
    for (const l of numpyLinspace(r - width - 2, r - width + 2, 400)) {
      const inside = (c: number) => l <= c && c <= r;
      out.push([q.filter(inside).length, p.length - p.filter(inside).length]);
    }
  return out;
}

/** metric.py _get_epsilons for one example, from its rate pairs. */
function plainEpsilon(pairs: [number, number][], n: number): number {
  let best = NaN;
  for (const [fp, fn] of pairs) {
    let e: number;
    if (fp === 0 && fn === 0) e = Infinity;
    else if (fp === 0 || fn === 0) continue;
    else {
      const a = Math.log(1 - 1e-5 - fp / n) - Math.log(fn / n);
      const b = Math.log(1 - 1e-5 - fn / n) - Math.log(fp / n);
      e = Number.isNaN(a) ? b : Number.isNaN(b) ? a : Math.max(a, b);
      if (Number.isNaN(e)) continue;
      e = Math.max(e, 0);
    }
    if (!(best >= e)) best = e;
  }
  return Math.min(Math.max(best, 0), 50);
}

const key = ([fp, fn]: [number, number]) => `${fp},${fn}`;
const fast = (run: (add: (fp: number, fn: number) => boolean) => boolean): Pairs => {
  const pairs: Pairs = new Set();
  run((fp, fn) => (pairs.add(key([fp, fn])), false));
  return pairs;
};

/**
 * N values per side from two Gaussians, then every value but each side's min and max moved onto a threshold of
 * either family (which keeps every grid as it was): many values equal to a threshold exactly.
 */
function onThresholds(seed: string, n: number, shift: number, scale: number): [number[], number[]] {
  const rng = rngFor(seed);
  const g = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const a = Array.from({ length: n }, () => g());
  const b = Array.from({ length: n }, () => shift + scale * g());
  const lo = min([...a, ...b]);
  const hi = max([...a, ...b]);
  const narrow = max(a) - min(a) < max(b) - min(b) ? a : b;
  const w = max(narrow) - min(narrow);
  const rights = numpyLinspace(
    min(narrow) + w - 2,
    max(narrow) + 2,
    Math.ceil((max(narrow) + 2 - (min(narrow) + w - 2)) * 100),
  );
  const points = [
    ...torchLinspaceF32(lo, hi, Math.ceil((hi - lo) * 100), "torch2"),
    ...torchLinspaceF32(lo, hi, Math.ceil((hi - lo) * 100), "torch1.13-avx2"),
    ...rights,
    ...[0.2, 0.5, 0.7].flatMap((f) => {
      const r = rights[Math.floor(f * rights.length)]!;
      return Array.from(numpyLinspace(r - w - 2, r - w + 2, 400));
    }),
  ];
  for (const side of [a, b]) {
    const [sLo, sHi] = [min(side), max(side)];
    const inside = points.filter((t) => t > sLo && t < sHi);
    side.forEach((v, i) => {
      if (v !== sLo && v !== sHi && inside.length) side[i] = inside[Math.floor(rng() * inside.length)]!;
    });
  }
  return [a, b];
}

describe("challenge score: fast attacks equal a plain reading of metric.py", () => {
  const cases: [string, number, number, number][] = [
    ["same", 16, 0, 1],
    ["shifted", 16, 0.8, 1],
    ["narrow", 16, 0.2, 0.4],
    ["wide", 12, 0, 2.5],
    ["odd", 9, 0.5, 0.7],
  ];
  for (const [name, n, shift, scale] of cases)
    it(`${name}: N = ${n}, values on the thresholds`, () => compare(...onThresholds(name, n, shift, scale), true));

  it("equal ranges: the window's positive side is the median-negative one", () => {
    // Both ranges are 2.5 exactly; metric.py then swaps, so the windows are laid around the retrained side.
    compare([0, 0.75, 1.25, 2.5, 1.5, 1.75], [0.25, 0.5, 2.0, 2.75, 1.0, 2.25], false);
  });

  function compare(u: number[], r: number[], checkOnGrid: boolean): void {
    const n = u.length;
    const [pos, neg] = median(r) > median(u) ? [r, u] : [u, r];
    const sorted = (a: number[]) => Float64Array.from(a).sort();
    let onGrid = 0;
    for (const grid of ["torch2", "torch1.13-avx2"] as const) {
      const plain = plainSingle(pos, neg, grid);
      const thresholds = torchLinspaceF32(min([...u, ...r]), max([...u, ...r]), plain.length, grid);
      onGrid += [...u, ...r].filter((v) => thresholds.includes(v)).length;
      expect([...fast((add) => singleThresholdAttack(sorted(pos), sorted(neg), grid, add))].sort()).to.deep.equal(
        [...new Set(plain.map(key))].sort(),
      );
    }
    if (checkOnGrid) expect(onGrid).to.be.above(n / 2); // the data really sits on the thresholds
    const plainW = plainWindow(pos, neg);
    expect([...fast((add) => windowAttack(sorted(pos), sorted(neg), add))].sort()).to.deep.equal(
      [...new Set(plainW.map(key))].sort(),
    );
    const eps = exampleEpsilon(Float64Array.from(u), Float64Array.from(r));
    expect(eps).to.equal(plainEpsilon([...plainW, ...plainSingle(pos, neg, "torch2")], n));
  }
});
