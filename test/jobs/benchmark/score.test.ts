import { expect } from "chai";
import { cpSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { scoreBenchmark, type MethodResult } from "../../../src/jobs/benchmark/score.js";
import type { Suite } from "../../../src/jobs/benchmark/suites.js";
import { TRAIN_DEFAULTS } from "../../../src/jobs/train-config.js";
import { tempDir } from "../../data/make-data.js";
import { tinyRuns, type TinyRuns } from "../../helpers/tiny-runs.js";

/** The tiny runs laid out as a suite's folders (without their cached evaluations, which other tests may have made). */
function suiteOf(runs: TinyRuns, root: string): Suite {
  const suite: Suite = {
    name: "tiny",
    description: "tiny runs",
    data: runs.data,
    sourceOptions: {},
    forget: runs.forget,
    forgetSeed: 0,
    // not the other tests' settings, so no evaluation of theirs is taken for one of these
    normalise: { mean: [0.5], std: [0.25] },
    model: "zoo:resnet18w8:width=2",
    train: TRAIN_DEFAULTS,
    originalSeed: 0,
    retrainedSeed: 0,
    unlearnSeed: 0,
    methods: {
      stochastic: { label: "stochastic", group: "main", config: {} },
      finetune: { label: "fine-tune", group: "main", config: { method: "finetune" } },
    },
    headline: "stochastic",
  };
  const base = join(root, suite.name);
  const copy = (from: string, to: string) =>
    cpSync(from, to, { recursive: true, filter: (f) => basename(f) !== "eval" });
  copy(runs.original, join(base, "original"));
  copy(runs.retrained, join(base, "retrained"));
  copy(runs.unlearned, join(base, "methods", "stochastic"));
  copy(runs.finetune, join(base, "methods", "finetune"));
  return suite;
}

describe("jobs/benchmark/score", function () {
  this.timeout(180000);
  let runs: TinyRuns;
  let tmp: ReturnType<typeof tempDir>;
  before(async () => {
    tmp = tempDir("benchmark-score");
    runs = await tinyRuns();
  });
  after(() => tmp.remove());

  async function score(root: string, shard?: { index: number; count: number }) {
    const suite = suiteOf(runs, root);
    const evaluated: string[] = [];
    const log = (line: string) => {
      if (line.startsWith("evaluated ")) evaluated.push(line.slice("evaluated ".length).slice(root.length + 1));
    };
    const o = { suite, root, runs: 2, methods: ["stochastic", "finetune"], intraOpThreads: 1, log, shard };
    await scoreBenchmark(o);
    const results = JSON.parse(readFileSync(join(root, "tiny", "results.json"), "utf8")) as Record<string, unknown>;
    return { evaluated, results };
  }

  it("with --shard i/n evaluates its own share of every folder first, each run once, and scores the same", async () => {
    const whole = await score(join(tmp.dir, "whole"));
    const sharded = await score(join(tmp.dir, "sharded"), { index: 1, count: 2 });
    // unsharded: folder by folder in run order (the first 2N = 4 retrained runs: 3 finished)
    expect(whole.evaluated).to.deep.equal([
      "tiny/retrained/run-000",
      "tiny/retrained/run-001",
      "tiny/retrained/run-002",
      "tiny/original",
      "tiny/methods/stochastic/run-000",
      "tiny/methods/stochastic/run-001",
      "tiny/methods/finetune/run-000",
      "tiny/methods/finetune/run-001",
    ]);
    // shard 2/2: runs 1, 3, ... of each folder first (the original, run 0, is shard 1's), then the rest
    expect(sharded.evaluated).to.deep.equal([
      "tiny/retrained/run-001",
      "tiny/methods/stochastic/run-001",
      "tiny/methods/finetune/run-001",
      "tiny/retrained/run-000",
      "tiny/retrained/run-002",
      "tiny/original",
      "tiny/methods/stochastic/run-000",
      "tiny/methods/finetune/run-000",
    ]);
    // every method but the headline is compared with it at its own N (here 2: no example earns points)
    const methods = whole.results.methods as MethodResult[];
    const zero = { headline: 0, delta: 0, low: 0, high: 0, verdict: "not separated" };
    expect(methods.map((m) => [m.method, m.vsHeadline])).to.deep.equal([
      ["stochastic", undefined],
      ["finetune", { method: "stochastic", forget: zero, final: zero }],
    ]);
    const md = readFileSync(join(tmp.dir, "whole", "tiny", "results.md"), "utf8");
    expect(md).to.include(
      "| method | N | F [95% bootstrap] | F - stochastic's [95% paired] | final score | final - stochastic's [95% paired] |",
    );
    expect(md).to.match(
      /\| fine-tune \| 2 \| 0\.0000 \[0\.0000, 0\.0000\] \| \+0\.0000 \[\+0\.0000, \+0\.0000\] \| 0\.0000 \| \+0\.0000 \[/,
    );
    expect(md).to.match(/\| stochastic \| 2 \| 0\.0000 \[0\.0000, 0\.0000\] \| - \| 0\.0000 \| - \|/);
    const stable = ({ date: _d, environment: _e, ...r }: Record<string, unknown>) => r;
    expect(stable(sharded.results)).to.deep.equal(stable(whole.results));
  });
});
