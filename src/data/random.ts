/**
 * Seeded randomness for the data layer. Every stream is named by the run seed plus what it is for
 * (e.g. `7/shuffle/epoch 2`), so streams are independent of each other and of the order they are used in.
 */
import seedrandom from "seedrandom";

export type Seed = string | number;
export type Rng = () => number;

/** A uniform [0, 1) generator (seedrandom's Alea) for the stream `seed/part/part...`. */
export function rngFor(seed: Seed, ...parts: (string | number)[]): Rng {
  return seedrandom.alea([String(seed), ...parts.map(String)].join("/"));
}

/** Shuffles `a` in place (Fisher-Yates) and returns it. */
export function shuffleInPlace<T extends { length: number; [i: number]: number }>(a: T, rng: Rng): T {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

/**
 * Splits each class of `labels` at random: `take[c]` positions of class c (chosen with `rng`) go to the first
 * part, the rest to the second. Returns both parts as sorted positions.
 */
export function splitByClass(labels: Int32Array, take: number[], rng: Rng): { taken: Int32Array; rest: Int32Array } {
  const byClass = positionsByClass(labels, take.length);
  const taken: number[] = [];
  const rest: number[] = [];
  byClass.forEach((positions, c) => {
    if (take[c] > positions.length)
      throw new Error(`splitByClass: class ${c} has ${positions.length}, asked ${take[c]}`);
    shuffleInPlace(positions, rng);
    for (let k = 0; k < positions.length; k++) (k < take[c] ? taken : rest).push(positions[k]);
  });
  const sorted = (a: number[]) => Int32Array.from(a).sort();
  return { taken: sorted(taken), rest: sorted(rest) };
}

export function positionsByClass(labels: Int32Array, numClasses: number): number[][] {
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  labels.forEach((c, p) => byClass[c].push(p));
  return byClass;
}

/**
 * Shares `total` among classes in proportion to their counts (largest remainder, ties to the lower class),
 * so that the shares sum to `total` exactly.
 */
export function proportionalCounts(counts: number[], total: number): number[] {
  const n = counts.reduce((a, b) => a + b, 0);
  if (total > n) throw new Error(`proportionalCounts: ${total} > ${n}`);
  if (n === 0) return counts.map(() => 0);
  const exact = counts.map((c) => (c * total) / n);
  const share = exact.map(Math.floor);
  let left = total - share.reduce((a, b) => a + b, 0);
  const order = exact.map((e, c) => ({ c, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.c - b.c);
  for (const { c } of order) {
    if (left === 0) break;
    if (share[c] < counts[c]) {
      share[c]++;
      left--;
    }
  }
  return share;
}

export function classCounts(labels: Int32Array, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (const c of labels) counts[c]++;
  return counts;
}
