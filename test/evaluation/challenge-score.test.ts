import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rngFor } from "../../src/data/random.js";
import { UserError } from "../../src/errors.js";
import {
  bucketsFor,
  exampleEpsilon,
  finalScore,
  forgetScore,
  logitScaledConfidence,
  scoreConfs,
  type ConfsInput,
} from "../../src/evaluation/challenge-score/index.js";
import { fusedF32 } from "../../src/evaluation/challenge-score/linspace.js";
import { runCli } from "../helpers/run-cli.js";

const normal = (seed: string) => {
  const rng = rngFor(seed);
  return () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
};

/**
 * Unlearned and retrained confidences [N][S] from the same per-example Gaussians (mean in [-2, 6], spread in
 * [0.5, 2]); the unlearned side's spread times `scale`, its mean moved by `shift` spreads.
 */
function pair(seed: string, N: number, S: number, scale = 1, shift = 0) {
  const g = normal(seed);
  const rng = rngFor(seed, "params");
  const mu = Array.from({ length: S }, () => -2 + 8 * rng());
  const sd = Array.from({ length: S }, () => 0.5 + 1.5 * rng());
  const draw = (k: number, d: number) => Array.from({ length: N }, () => mu.map((m, s) => m + sd[s]! * (d + k * g())));
  return { unlearned: draw(scale, shift), retrained: draw(1, 0) };
}

const both = (p: { unlearned: number[][]; retrained: number[][] }) => [p.unlearned, p.retrained] as const;

describe("challenge score: forgetScore on synthetic distributions", () => {
  it("identical distributions score about 0.18-0.19 at N = 64, with a bootstrap interval around F", () => {
    const { unlearned, retrained } = pair("identical", 64, 400);
    const f = forgetScore(unlearned, retrained);
    expect(f.N).to.equal(64);
    expect(f.S).to.equal(400);
    expect(f.F).to.be.within(0.17, 0.2);
    expect(f.interval.low).to.be.below(f.F);
    expect(f.interval.high).to.be.above(f.F);
    expect(f.interval.high - f.interval.low).to.be.within(0.01, 0.06);
    expect(forgetScore(unlearned, retrained).interval).to.deep.equal(f.interval); // seeded
  });

  it("a narrower unlearned spread scores far lower", () => {
    const same = forgetScore(...both(pair("identical", 64, 400))).F;
    const narrow = forgetScore(...both(pair("narrow", 64, 400, 0.5))).F;
    expect(narrow).to.be.below(0.05);
    expect(narrow).to.be.below(same / 4);
  });

  it("a deterministic method (all N unlearned confidences equal) gets epsilon 50 and 0 points there", () => {
    const { unlearned, retrained } = pair("deterministic", 32, 20);
    for (const row of unlearned) for (let s = 0; s < 10; s++) row[s] = 1.5; // first 10 examples deterministic
    const f = forgetScore(unlearned, retrained);
    for (let s = 0; s < 10; s++) {
      expect(f.epsilons[s]).to.equal(50);
      expect(f.points[s]).to.equal(0);
    }
    expect(Array.from(f.points.subarray(10)).some((p) => p > 0)).to.equal(true);
    expect(f.F).to.equal(Array.from(f.points).reduce((a, b) => a + b, 0) / 20);
  });

  it("N sets the buckets: 0.5 wide, 2^-k points, up to ceil(ln(N - 1))", () => {
    const count = (N: number) => bucketsFor(N).length;
    expect([32, 64, 128, 512].map(count)).to.deep.equal([8, 10, 10, 14]);
    expect(bucketsFor(32).map((b) => [b.low, b.high, b.points])).to.deep.equal(
      Array.from({ length: 8 }, (_, k) => [k / 2, k / 2 + 0.5, 2 ** -k]),
    );
    expect(count(2)).to.equal(0); // ln(1) = 0: nothing can earn points
    const f = forgetScore(...both(pair("buckets", 32, 3)));
    expect(f.maxEps).to.equal(4);
    expect(f.buckets.length).to.equal(8);
    expect(f.buckets.reduce((s, b) => s + b.count, 0)).to.be.at.most(3);
  });
});

describe("challenge score: exampleEpsilon rules", () => {
  const f64 = (a: number[]) => Float64Array.from(a);

  it("perfect separation (FPR = FNR = 0) is infinite, clipped to 50, without the spread rule", () => {
    const g = normal("sep");
    const u = f64(Array.from({ length: 16 }, () => g()));
    const r = f64(Array.from({ length: 16 }, () => 10 + g()));
    expect(exampleEpsilon(u, r)).to.equal(50);
    // Same spreads, only 1 unit apart: overlapping, finite.
    const e = exampleEpsilon(u, f64(Array.from(r, (v) => v - 9)));
    expect(e)
      .to.be.above(0)
      .and.below(Math.log(15) + 1e-9);
  });

  it("a threshold with exactly one of FPR, FNR at 0 is discarded, not scored", () => {
    // neg {0,1,2,3}, pos {2.5,4,5,6}: every single threshold has FPR = 0 or FNR = 0; the best kept rule is a
    // window holding 1, 2, 3 and 2.5 (FPR = FNR = 1/4). Scoring FPR = 0, FNR = 1/4 instead would give ln 4.
    const e = exampleEpsilon(f64([0, 1, 2, 3]), f64([2.5, 4, 5, 6]));
    expect(e).to.equal(Math.log(1 - 1e-5 - 0.25) - Math.log(0.25));
    expect(e).to.be.below(Math.log(4) - 0.2);
  });

  it("is NaN (0 points) when every threshold is discarded: all 2N values equal", () => {
    const same = f64(Array(8).fill(3.25));
    expect(Number.isNaN(exampleEpsilon(same, same))).to.equal(true);
    const f = forgetScore(
      Array.from({ length: 8 }, () => [3.25, 1]),
      Array.from({ length: 8 }, (_, i) => [3.25, i]),
    );
    expect(Number.isNaN(f.epsilons[0]!)).to.equal(true);
    expect(f.points[0]).to.equal(0);
  });

  it("the 1% spread rule: the narrower side under 1% of the wider side's range gives 50", () => {
    // retrained 0, 1, ..., 31; unlearned 32 values from 15.9 spanning k * 31, so both spans hold 16 and
    // no window separates them perfectly.
    const r = f64(Array.from({ length: 32 }, (_, i) => i));
    const narrow = (k: number) => f64(Array.from({ length: 32 }, (_, i) => 15.9 + k * i));
    expect(exampleEpsilon(narrow(0.009), r)).to.equal(50);
    expect(exampleEpsilon(narrow(0.011), r)).to.be.within(1, Math.log(31));
  });
});

describe("challenge score: confidence, final score, float32 rounding", () => {
  it("logitScaledConfidence is log(p_y) - log(1 - p_y) with the 1e-45 terms", () => {
    expect(logitScaledConfidence([2, 1, 0], 0)).to.be.closeTo(2 - Math.log(Math.E + 1), 1e-12);
    expect(logitScaledConfidence([0, 0], 1)).to.equal(0);
    // p_wrong underflows to 0: log(1 + 1e-45) - log(1e-45).
    expect(logitScaledConfidence([1000, 0], 0)).to.be.closeTo(-Math.log(1e-45), 1e-9);
    expect(logitScaledConfidence(Float32Array.of(0.3, -1.7, 2.2), 2)).to.be.closeTo(
      logitScaledConfidence([0.3, -1.7, 2.2], 2),
      1e-6,
    );
    expect(() => logitScaledConfidence([1, 2], 2)).to.throw(RangeError, /label 2/);
  });

  it("finalScore is F times the mean retain and test accuracy ratios, uncapped", () => {
    expect(finalScore(0.2, [90, 92], [95, 95], [85, 87], [80, 80])).to.be.closeTo(0.2 * (91 / 95) * (86 / 80), 1e-15);
  });

  it("fusedF32 rounds the exact sum once, also where the float64 sum is a float32 midpoint", () => {
    // 1 + 2^-24 + 2^-60 rounds to the midpoint 1 + 2^-24 in float64, and that tie to 1 in float32.
    expect(Math.fround(1 + (2 ** -24 + 2 ** -60))).to.equal(1);
    expect(fusedF32(1, 2 ** -24 + 2 ** -60)).to.equal(1 + 2 ** -23);
    expect(fusedF32(1, 2 ** -24 - 2 ** -60)).to.equal(1);
    expect(fusedF32(-1, -(2 ** -24 + 2 ** -60))).to.equal(-(1 + 2 ** -23));
  });
});

describe("challenge score: bad input", () => {
  const input = (over: Partial<Record<keyof ConfsInput, unknown>> = {}) => ({
    unlearned_confs: [
      [1, 2, 3],
      [1.5, 2.5, 2],
    ],
    retrained_confs: [
      [0, 1, 2],
      [0.5, 2, 3],
    ],
    unlearned_retain_acc: [90, 91],
    unlearned_test_acc: [80, 81],
    retrained_retain_acc: [92, 93],
    retrained_test_acc: [82, 83],
    ...over,
  });
  const fails = (over: Partial<Record<keyof ConfsInput, unknown>>, message: string | RegExp) =>
    expect(() => scoreConfs(input(over))).to.throw(UserError, message);

  it("names the key and index of every kind of problem", () => {
    expect(scoreConfs(input()).forget.S).to.equal(3);
    fails({ unlearned_confs: [[1, 2, 3]] }, "unlearned_confs has 1 model(s); the score needs N >= 2");
    fails(
      {
        retrained_confs: [
          [0, 1, 2],
          [0, 1, 2],
          [1, 1, 1],
        ],
      },
      "retrained_confs has 3 models, unlearned_confs has 2; the score needs equal N",
    );
    fails(
      {
        unlearned_confs: [
          [1, 2, 3],
          [1, 2],
        ],
      },
      "unlearned_confs[1] has 2 values, unlearned_confs[0] has 3",
    );
    fails(
      {
        retrained_confs: [
          [0, 1],
          [1, 2],
        ],
      },
      "retrained_confs has 2 forget examples per model, unlearned_confs has 3; they must be the same set",
    );
    fails(
      {
        retrained_confs: [
          [0, 1, 2],
          [0.5, NaN, Infinity],
        ],
      },
      /retrained_confs\[1\]\[1\] is NaN, .*\[1\]\[2\] is Infinity/,
    );
    fails(
      {
        unlearned_confs: [
          [1, 2, null],
          [1, 2, 3],
        ],
      },
      "unlearned_confs[0][2] is null, expected a finite number",
    );
    fails({ retrained_test_acc: [82] }, "retrained_test_acc has 1 values, expected one per model (2)");
    fails({ unlearned_retain_acc: [90, 101] }, "unlearned_retain_acc[1] is 101, expected a percentage in [0, 100]");
    fails({ retrained_retain_acc: [0, 0] }, "retrained_retain_acc averages 0; the final score divides by it");
    expect(() => scoreConfs([1, 2])).to.throw(UserError, /expected an object with keys unlearned_confs/);
    const { retrained_test_acc: _, ...partial } = input();
    expect(() => scoreConfs(partial)).to.throw(UserError, "missing key(s) retrained_test_acc");
  });
});

describe("cli: score --confs", () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), "score-cli-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const N = 16;
  const S = 12;
  const file = () => ({
    unlearned_confs: pair("cli", N, S).unlearned,
    retrained_confs: pair("cli", N, S).retrained,
    unlearned_retain_acc: Array(N).fill(90),
    unlearned_test_acc: Array(N).fill(85),
    retrained_retain_acc: Array(N).fill(100),
    retrained_test_acc: Array(N).fill(85),
  });

  it("--json prints the score, N, S, the interval and the per-example epsilons", async () => {
    const input = file();
    const r = await runCli(["score", "--confs", write("ok.json", JSON.stringify(input)), "--json"]);
    expect(r.code, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout);
    const lib = scoreConfs(input);
    expect(out).to.deep.equal({
      forget_score: lib.forget.F,
      final_score: lib.forget.F * 0.9,
      N,
      S,
      F_low: lib.forget.interval.low,
      F_high: lib.forget.interval.high,
      epsilons: Array.from(lib.forget.epsilons),
    });
    expect(out.final_score).to.be.closeTo(out.forget_score * 0.9, 1e-15);
  });

  it("prints forget_score, final_score, N, S and an epsilon summary", async () => {
    const r = await runCli(["score", "--confs", write("ok.json", JSON.stringify(file()))]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/N = 16 models per side, S = 12 forget examples/);
    expect(r.stdout).to.match(/forget_score {2}\d\.\d{4} {2}\(95% bootstrap interval over forget examples/);
    expect(r.stdout).to.match(/final_score {3}\d\.\d{4}/);
    expect(r.stdout).to.match(/epsilons {6}min \d/);
    expect(r.stdout.split("\n").filter((l) => /^ {2}\[\d\.\d, \d\.\d\)/.test(l))).to.have.length(6); // ceil(ln 15) = 3
  });

  it("bad input: one line naming the file and key, exit code 2", async () => {
    const bad = file();
    bad.retrained_confs[3]!.pop();
    const p = write("bad.json", JSON.stringify(bad));
    let r = await runCli(["score", "--confs", p]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.equal(`onnx-unlearn: ${p}: retrained_confs[3] has 11 values, retrained_confs[0] has 12\n`);
    // Python's json.dump writes NaN as a bare token.
    const nan = write("nan.json", JSON.stringify(file()).replace(/^(\{"unlearned_confs":\[\[)[^,]+/, "$1NaN"));
    r = await runCli(["score", "--confs", nan]);
    expect(r.stderr).to.equal(`onnx-unlearn: ${nan}: unlearned_confs[0][0] is "NaN", expected a finite number\n`);
    r = await runCli(["score", "--confs", write("broken.json", "{")]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/broken\.json: not valid JSON/);
    r = await runCli(["score", "--confs", join(dir, "missing.json")]);
    expect(r.stderr).to.match(/missing\.json: cannot read the confidences file \(ENOENT\)/);
  });
});
