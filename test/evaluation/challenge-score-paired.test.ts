import { expect } from "chai";
import { UserError } from "../../src/errors.js";
import { rngFor } from "../../src/data/random.js";
import {
  bootstrapMean,
  pairedDifference,
  pairedFinalDifference,
  scoreEpsilons,
  type ChallengeScore,
  type ForgetScore,
} from "../../src/evaluation/challenge-score/index.js";

/** A forget score at N models per side from per-example epsilons. */
const scoreOf = (epsilons: number[], N = 16) => scoreEpsilons(Float64Array.from(epsilons), N);

/** S epsilons in [0, 3.2): N = 16 gives buckets up to 3, so every point value occurs. */
function epsilons(seed: string, S: number): number[] {
  const rng = rngFor(seed);
  return Array.from({ length: S }, () => 3.2 * rng());
}

describe("evaluation/challenge-score/paired", () => {
  it("a score against itself: difference 0, interval [0, 0], not separated", () => {
    const a = scoreOf(epsilons("a", 200));
    const d = pairedDifference(a, a);
    expect(d.delta).to.equal(0);
    expect([d.interval.low, d.interval.high]).to.deep.equal([0, 0]);
    expect(d.verdict).to.equal("not separated");
    expect(d.interval).to.include({ level: 0.95, resamples: 1000, seed: 0 });
  });

  it("the difference of the two F, the interval of the per-example differences, and the verdict by its sign", () => {
    const e = epsilons("b", 300);
    const a = scoreOf(e);
    // b: every example one bucket worse (0.5 higher epsilon): half the points, or none past the last bucket
    const b = scoreOf(e.map((x) => x + 0.5));
    const d = pairedDifference(a, b, { seed: 7 });
    expect(d.delta).to.be.closeTo(a.F - b.F, 1e-15);
    expect(d.delta).to.be.greaterThan(0);
    const diff = Float64Array.from(a.points, (p, s) => p - b.points[s]!);
    expect([d.interval.low, d.interval.high]).to.deep.equal(bootstrapMean(diff, 1000, 0.95, 7));
    expect(d.interval.low).to.be.greaterThan(0);
    expect(d.verdict).to.equal("above");
    const back = pairedDifference(b, a, { seed: 7 });
    expect(back.verdict).to.equal("below");
    expect(back.delta).to.equal(-d.delta);
  });

  it("narrower than F's own intervals when both groups find the same examples hard", () => {
    const e = epsilons("c", 500);
    const a = scoreOf(e);
    // b: one example in five one bucket worse; the rest score the same as under a
    const b = scoreOf(e.map((x, s) => (s % 5 === 0 ? x + 0.5 : x)));
    const d = pairedDifference(a, b);
    const width = (i: { low: number; high: number }) => i.high - i.low;
    // F's own intervals overlap: side by side they do not separate a from b
    expect(a.interval.low).to.be.lessThan(b.interval.high);
    expect(width(d.interval)).to.be.lessThan(width(a.interval) / 2);
    expect(d.verdict).to.equal("above");
  });

  it("the final score's difference: each example's points times its side's accuracy ratios", () => {
    const e = epsilons("g", 400);
    const challenge = (F: ForgetScore, retain: number, test: number): ChallengeScore => ({
      forget: F,
      finalScore: F.F * (retain / 100) * (test / 88),
      accuracy: { unlearnedRetain: retain, unlearnedTest: test, retrainedRetain: 100, retrainedTest: 88 },
    });
    // a forgets better (F higher) but keeps less accuracy; the final scores come out close
    const a = challenge(scoreOf(e.map((x, s) => (s % 4 === 0 ? x - 0.5 : x))), 80, 80);
    const b = challenge(scoreOf(e), 95, 87);
    const f = pairedDifference(a.forget, b.forget);
    const d = pairedFinalDifference(a, b, { seed: 3 });
    expect(f.verdict).to.equal("above");
    expect(d.delta).to.be.closeTo(a.finalScore - b.finalScore, 1e-15);
    const ra = (80 / 100) * (80 / 88);
    const rb = (95 / 100) * (87 / 88);
    const diff = Float64Array.from(a.forget.points, (p, s) => p * ra - b.forget.points[s]! * rb);
    expect([d.interval.low, d.interval.high]).to.deep.equal(bootstrapMean(diff, 1000, 0.95, 3));
    expect(d.verdict).to.equal(d.interval.low > 0 ? "above" : d.interval.high < 0 ? "below" : "not separated");
    expect(d.delta).to.be.lessThan(f.delta);
  });

  it("0 resamples: the interval is the difference itself", () => {
    const a = scoreOf(epsilons("d", 50));
    const b = scoreOf(epsilons("e", 50));
    const d = pairedDifference(a, b, { resamples: 0 });
    expect([d.interval.low, d.interval.high]).to.deep.equal([d.delta, d.delta]);
  });

  it("refuses scores of different N or of different forget sets, naming both", () => {
    const a: ForgetScore = scoreOf(epsilons("f", 40), 16);
    expect(() => pairedDifference(a, scoreOf(epsilons("f", 40), 8), { names: ["ours", "algo1"] })).to.throw(
      UserError,
      "ours is scored with N = 16 models per side, algo1 with N = 8; compare equal N",
    );
    expect(() => pairedDifference(a, scoreOf(epsilons("f", 41), 16))).to.throw(
      UserError,
      "a has 40 forget examples, b has 41; the comparison needs the same forget set",
    );
  });
});
