import { expect } from "chai";
import { readFileSync } from "node:fs";
import seedrandom from "seedrandom";
import { rngFor } from "../../src/data/random.js";
import { decisionValues, fitLogisticRegression } from "../../src/evaluation/logistic-regression.js";
import {
  approximateMode,
  crossValidatedAccuracies,
  membershipInference,
  miaMinimumPerSide,
  stratifiedShuffleSplits,
} from "../../src/evaluation/mia.js";

interface Fit {
  coef: number[];
  intercept: number;
}
interface ReferenceCase {
  name: string;
  C: number;
  d: number;
  x: number[];
  y: number[];
  default: Fit;
  optimum: Fit;
  splits: { train: number[]; test: number[] }[];
  cvAccuracies: number[];
}

// written by scripts/mia-reference/make-fixture.py with Debian's scikit-learn
const reference = JSON.parse(
  readFileSync(new URL("../fixtures/mia/sklearn-reference.json", import.meta.url), "utf8"),
) as { sklearn: string; cases: ReferenceCase[] };

const countOf = (y: number[], idx: ArrayLike<number>, c: number) => Array.from(idx).filter((i) => y[i] === c).length;

/** Gamma(0.7)-like positive losses: heavy-tailed as cross-entropies are. */
function losses(n: number, scale: number, seed: string): Float64Array {
  const rng = seedrandom.alea(seed);
  return Float64Array.from({ length: n }, () => -scale * Math.log(1 - rng()) * (0.4 + rng()));
}

describe("evaluation/logistic-regression against scikit-learn " + reference.sklearn, () => {
  for (const c of reference.cases) {
    it(`${c.name}: the coefficients of LogisticRegression(C=${c.C})`, () => {
      const m = fitLogisticRegression(c.x, c.d, c.y, { C: c.C });
      // sklearn fitted to tol 1e-12 is the optimum itself; its default lbfgs (tol 1e-4) stops near it
      Array.from(m.weights).forEach((w, j) => {
        expect(w).to.be.closeTo(c.optimum.coef[j]!, 1e-7 * Math.max(1, Math.abs(w)));
        expect(w).to.be.closeTo(c.default.coef[j]!, 1e-4 * Math.max(1, Math.abs(w)));
      });
      expect(m.intercept).to.be.closeTo(c.optimum.intercept, 1e-7);
      expect(m.intercept).to.be.closeTo(c.default.intercept, 1e-4);
    });

    it(`${c.name}: cross-validated accuracies over sklearn's own 10 splits`, () => {
      const splits = c.splits.map((s) => ({ train: Int32Array.from(s.train), test: Int32Array.from(s.test) }));
      const ours = crossValidatedAccuracies(c.x, c.d, c.y, splits, { C: c.C });
      expect(ours).to.have.length(10);
      ours.forEach((a, k) => expect(a, `split ${k}`).to.be.closeTo(c.cvAccuracies[k]!, 1e-12));
    });

    it(`${c.name}: our stratified splits have sklearn's sizes and per-class counts`, () => {
      const ours = stratifiedShuffleSplits(c.y, { splits: 10, testFraction: 0.1, rng: rngFor(0, "test") });
      ours.forEach((s, k) => {
        const theirs = c.splits[k]!;
        expect(s.train.length).to.equal(theirs.train.length);
        expect(s.test.length).to.equal(theirs.test.length);
        for (const part of ["train", "test"] as const) {
          // with an odd share the class that gets the extra example is drawn at random, as in sklearn
          const mine = [0, 1].map((cl) => countOf(c.y, s[part], cl)).sort();
          const sk = [0, 1].map((cl) => countOf(c.y, theirs[part], cl)).sort();
          expect(mine, `${part} of split ${k}`).to.deep.equal(sk);
        }
        const all = [...s.train, ...s.test];
        expect(new Set(all).size).to.equal(all.length);
      });
    });
  }

  it("predicts with the decision value w.x + b", () => {
    const m = fitLogisticRegression([0, 1, 2, 3], 1, [0, 0, 1, 1]);
    const v = decisionValues(m, [1.5, 10]);
    expect(v[0]).to.be.closeTo(m.weights[0]! * 1.5 + m.intercept, 1e-12);
    expect(v[0]).to.be.closeTo(0, 1e-9); // symmetric data: the boundary is at 1.5
    expect(v[1]).to.be.greaterThan(0);
  });

  it("rejects labels other than 0 and 1", () => {
    expect(() => fitLogisticRegression([0, 1], 1, [0, 2])).to.throw(/label 2 is not 0 or 1/);
  });
});

describe("evaluation/mia", () => {
  it("approximateMode shares draws as sklearn's _approximate_mode", () => {
    const rng = rngFor(0, "t");
    expect(approximateMode([100, 100], 180, rng)).to.deep.equal([90, 90]);
    expect(approximateMode([10, 20, 30], 6, rng)).to.deep.equal([1, 2, 3]);
    const odd = approximateMode([101, 101], 181, rng);
    expect(odd.reduce((a, b) => a + b)).to.equal(181);
    expect([...odd].sort()).to.deep.equal([90, 91]);
  });

  it("is about 0.5 when forget and test losses come from one distribution", () => {
    const r = membershipInference(losses(500, 0.5, "a"), losses(400, 0.5, "b"), { seed: 1 });
    expect(r.perSide).to.equal(400);
    expect(r.splitAccuracies).to.have.length(10);
    expect(r.accuracy).to.be.within(0.44, 0.56);
    expect(r.std).to.be.greaterThan(0);
  });

  it("is clearly above 0.5 when the forget losses are lower (a model that remembers)", () => {
    const r = membershipInference(losses(300, 0.2, "c"), losses(300, 0.8, "d"));
    expect(r.accuracy).to.be.greaterThan(0.7);
    expect(r.min).to.be.at.most(r.accuracy);
    expect(r.max).to.be.at.least(r.accuracy);
  });

  it("is reproducible for a seed and balances by subsampling the larger side", () => {
    const f = losses(1000, 0.3, "e");
    const t = losses(100, 0.6, "f");
    const a = membershipInference(f, t, { seed: 3 });
    expect(membershipInference(f, t, { seed: 3 })).to.deep.equal(a);
    expect(a.perSide).to.equal(100);
    expect(a.forgetCount).to.equal(1000);
    expect(membershipInference(f, t, { seed: 4 }).splitAccuracies).to.not.deep.equal(a.splitAccuracies);
  });

  it("says how many examples it needs, and rejects non-finite losses", () => {
    const m = miaMinimumPerSide();
    expect(m).to.equal(6); // ceil(0.1 * 12) = 2 held out: one of each side
    expect(() => membershipInference(losses(m, 1, "g"), losses(m, 1, "h"))).to.not.throw();
    expect(() => membershipInference(losses(50, 1, "g"), losses(m - 1, 1, "h"))).to.throw(
      /needs at least 6 forget and 6 test examples, got 50 and 5/,
    );
    const bad = losses(20, 1, "i");
    bad[3] = NaN;
    expect(() => membershipInference(bad, losses(20, 1, "j"))).to.throw(/forget loss 3 is NaN/);
  });
});
