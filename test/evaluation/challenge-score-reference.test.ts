/**
 * Our per-example epsilons against the organisers' metric.py itself (run on the CPU by
 * scripts/score-reference/make_reference.py; see its header for the two run-time patches).
 *
 * What can differ, and only that: metric.py computes the rates as float32 means and epsilon from them in
 * float32, we compute exact counts / N in float64. So every epsilon must agree to float32 precision, and the
 * points (buckets) must agree except where an epsilon lies within that precision of a bucket edge (k / 2), the
 * one kind of difference the shared reference predicts; those are counted and must stay rare.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import {
  bucketsFor,
  forgetScore,
  numpyLinspace,
  torchLinspaceF32,
} from "../../src/evaluation/challenge-score/index.js";
import type { TorchGrid } from "../../src/evaluation/challenge-score/linspace.js";

interface Reference {
  torch: string;
  torch_cpu_capability: string;
  single_threshold_grid: TorchGrid;
  cases: {
    name: string;
    unlearned_confs: number[][];
    retrained_confs: number[][];
    epsilons: number[];
    forget_score: number;
  }[];
  torch_linspace: { start: number; end: number; steps: number; values: number[] }[];
  numpy_linspace: { start: number; stop: number; num: number; values: number[] }[];
}

const ref = JSON.parse(readFileSync(new URL("../fixtures/score/reference.json", import.meta.url), "utf8")) as Reference;
/** float32 epsilon: a few ulps of float32 at the largest finite epsilons here (< 8). */
const TOL = 4e-6;

describe("challenge score: reference vectors from the organisers' metric.py", () => {
  it(`np.linspace and torch ${ref.torch} (${ref.torch_cpu_capability}) linspace grids, value for value`, () => {
    expect(ref.numpy_linspace.length).to.be.above(0);
    for (const g of ref.numpy_linspace)
      expect(Array.from(numpyLinspace(g.start, g.stop, g.num))).to.deep.equal(g.values);
    expect(ref.torch_linspace.length).to.be.above(0);
    for (const g of ref.torch_linspace)
      expect(Array.from(torchLinspaceF32(g.start, g.end, g.steps, ref.single_threshold_grid))).to.deep.equal(g.values);
  });

  for (const c of ref.cases)
    it(`${c.name}: per-example epsilons and F`, () => {
      const f = forgetScore(c.unlearned_confs, c.retrained_confs, {
        singleThresholdGrid: ref.single_threshold_grid,
        resamples: 0,
      });
      expect(f.epsilons.length).to.equal(c.epsilons.length);
      const buckets = bucketsFor(f.N);
      const pointsOf = (e: number) => buckets.find((b) => e < b.high)?.points ?? 0;
      let edgeCases = 0;
      c.epsilons.forEach((theirs, s) => {
        const ours = f.epsilons[s]!;
        expect(Math.abs(ours - theirs), `example ${s}: ours ${ours}, metric.py ${theirs}`).to.be.at.most(TOL);
        if (pointsOf(ours) !== pointsOf(theirs)) {
          expect(Math.abs(theirs * 2 - Math.round(theirs * 2)) / 2, `example ${s} changes bucket`).to.be.at.most(TOL);
          edgeCases++;
        }
      });
      if (edgeCases === 0) expect(f.F).to.equal(c.forget_score);
      else expect(Math.abs(f.F - c.forget_score)).to.be.at.most(edgeCases / f.S);
      expect(edgeCases).to.be.at.most(1);
    });

  it("covers the cases it claims: capped, finite and several N", () => {
    const all = ref.cases.flatMap((c) => c.epsilons);
    expect(all.filter((e) => e === 50).length).to.be.above(3);
    expect(all.filter((e) => e > 0 && e < 50).length).to.be.above(100);
    expect(new Set(ref.cases.map((c) => c.unlearned_confs.length))).to.deep.equal(new Set([16, 32, 64, 128]));
  });
});
