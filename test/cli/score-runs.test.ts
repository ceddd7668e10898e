import { expect } from "chai";
import { join } from "node:path";
import type { PairedDifference } from "../../src/evaluation/challenge-score/index.js";
import { scoreRuns } from "../../src/evaluation/run-scores.js";
import { runCli } from "../helpers/run-cli.js";
import { tinyRuns, type TinyRuns } from "../helpers/tiny-runs.js";

describe("cli/score --unlearned --retrained", function () {
  this.timeout(120000);
  let runs: TinyRuns;
  before(async () => (runs = await tinyRuns()));
  const opts = () => ({ unlearned: runs.unlearned, retrained: runs.retrained, intraOpThreads: 1 });

  it("--json: the --confs keys (from the library's score) plus the runs, the forget set and the notes", async () => {
    const r = await runCli([
      "score",
      "--unlearned",
      runs.unlearned,
      "--retrained",
      runs.retrained,
      "--threads",
      "1",
      "--json",
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.equal("");
    const got = JSON.parse(r.stdout) as Record<string, unknown>;
    const want = await scoreRuns({ unlearned: runs.unlearned, retrained: runs.retrained, intraOpThreads: 1 });
    const f = want.score.forget;
    expect(got).to.deep.equal({
      forget_score: f.F,
      final_score: want.score.finalScore,
      N: 3,
      S: 12,
      F_low: f.interval.low,
      F_high: f.interval.high,
      epsilons: Array.from(f.epsilons),
      unlearned_runs: want.unlearned.map((x) => x.dir),
      retrained_runs: want.retrained.map((x) => x.dir),
      forget: want.forget,
      data: runs.data,
      notes: [],
    });
  });

  it("text: N and S, F with its interval, the final score, and the choice of runs when N differs", async () => {
    const r = await runCli(["score", "--unlearned", runs.finetune, "--retrained", runs.retrained, "--threads", "1"]);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).to.equal(`${runs.finetune} vs ${runs.retrained}: N = 2 models per side, S = 12 forget examples`);
    expect(lines[1]).to.match(/^data npy:.*; forget set random:12 \(seed 0\), 12 examples, sha256 [0-9a-f]{12}\.\.\.$/);
    expect(lines[2]).to.equal(
      "note: 2 unlearned and 3 retrained runs: scoring the first 2 of each (run-000 to run-001); the other 1 of retrained are left out",
    );
    expect(lines[3]).to.match(
      /^forget_score {2}\d\.\d{4} {2}\(95% bootstrap interval over forget examples \d\.\d{4} to \d\.\d{4}, 1000 resamples\)$/,
    );
    expect(lines[4]).to.match(/^final_score {3}\d\.\d{4} {2}\(= F x retain /);
    // N = 2: ceil(ln 1) = 0 buckets, every example earns 0
    expect(r.stdout).to.include("points by epsilon bucket (none from 0 = ceil(ln(N-1)) on):");
    // each run said where its evaluation came from
    expect(r.stderr.trim().split("\n")).to.have.length(4);
    for (const line of r.stderr.trim().split("\n"))
      expect(line).to.match(/\/run-00\d: (evaluated|evaluation from its cache)$/);
  });

  it("--baseline: the baseline's score and the paired difference, in text and in --json", async () => {
    const args = ["score", "--unlearned", runs.unlearned, "--retrained", runs.retrained, "--baseline", runs.finetune];
    const r = await runCli([...args, "--threads", "1"]);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).to.equal(`${runs.unlearned} vs ${runs.retrained}: N = 2 models per side, S = 12 forget examples`);
    expect(lines.slice(-6)).to.deep.equal([
      `baseline ${runs.finetune} (same retrained runs, N = 2):`,
      "forget_score  0.0000  (95% bootstrap interval 0.0000 to 0.0000)",
      "final_score   0.0000",
      "unlearned - baseline, 95% paired bootstrap interval over forget examples:",
      // N = 2: no example earns points on either side
      "  forget_score = +0.0000  [+0.0000, +0.0000]: 0 is inside the interval, not separated at this N",
      "  final_score  = +0.0000  [+0.0000, +0.0000]: 0 is inside the interval, not separated at this N",
    ]);

    const j = await runCli([...args, "--threads", "1", "--json"]);
    expect(j.code, j.stderr).to.equal(0);
    const got = JSON.parse(j.stdout) as Record<string, unknown>;
    const want = await scoreRuns({ ...opts(), baseline: runs.finetune });
    const b = want.baseline!;
    expect(got.baseline).to.deep.equal({
      runs: b.runs.map((x) => x.dir),
      forget_score: b.score.forget.F,
      final_score: b.score.finalScore,
      F_low: b.score.forget.interval.low,
      F_high: b.score.forget.interval.high,
    });
    const d = (x: PairedDifference) => ({
      delta: x.delta,
      low: x.interval.low,
      high: x.interval.high,
      verdict: "not separated",
    });
    expect(got.difference).to.deep.equal({
      forget_score: d(b.difference.forget),
      final_score: d(b.difference.final),
      level: 0.95,
    });
    expect(got.notes).to.deep.equal(want.notes);
  });

  it("bad calls: one line, exit code 2", async () => {
    const bad = async (args: string[], line: string) => {
      const r = await runCli(["score", ...args, "--threads", "1"]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.equal(`onnx-unlearn: ${line}\n`);
    };
    await bad(
      ["--unlearned", runs.original, "--retrained", runs.retrained],
      `${runs.original}: kind is 'train', expected an unlearned run (from 'unlearn --runs N')`,
    );
    await bad(["--unlearned", runs.unlearned], "--retrained is missing: the score compares both groups of runs");
    await bad([], "give --unlearned <dir> and --retrained <dir> (run folders), or --confs <file.json>");
    await bad(
      ["--confs", join(runs.dir, "c.json"), "--unlearned", runs.unlearned],
      "give either --confs or --unlearned and --retrained, not both",
    );
    await bad(
      ["--confs", join(runs.dir, "c.json"), "--baseline", runs.finetune],
      "--baseline compares run folders: give it with --unlearned <dir> and --retrained <dir>",
    );
  });
});
