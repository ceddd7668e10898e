import { expect } from "chai";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EvalRecord } from "../../../src/evaluation/eval-cache.js";
import { reportFromEvalRecord, reportFromRuns } from "../../../src/evaluation/report/from-runs.js";
import { renderReport } from "../../../src/evaluation/report/index.js";
import { loadReport } from "../../../src/evaluation/report/load.js";
import { scoreRuns } from "../../../src/evaluation/run-scores.js";
import { readManifest } from "../../../src/runs/index.js";
import { expectRefusal } from "../../helpers/refusal.js";
import { runCli } from "../../helpers/run-cli.js";
import { copyRuns, editManifest, tinyRuns, type TinyRuns } from "../../helpers/tiny-runs.js";
import { syntheticReportInput } from "./synthetic.js";

const cachedRecord = (run: string): EvalRecord => {
  const files = readdirSync(join(run, "eval"));
  expect(files).to.have.length(1);
  return JSON.parse(readFileSync(join(run, "eval", files[0]!), "utf8")) as EvalRecord;
};
const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;

describe("evaluation/report from run folders", function () {
  this.timeout(120000);
  let runs: TinyRuns;
  let tmp: string;
  before(async () => {
    runs = await tinyRuns();
    tmp = mkdtempSync(join(tmpdir(), "report-runs-"));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("one model per run group (role from the manifest), the score of unlearned vs retrained, the manifests' facts", async () => {
    const input = await reportFromRuns([runs.retrained, runs.unlearned, runs.original, runs.finetune], {
      intraOpThreads: 1,
    });
    expect(input.models.map((m) => [m.name, m.role, m.runs])).to.deep.equal([
      ["original", "original", 1],
      ["finetune", "baseline", 2],
      ["stochastic", "unlearned", 3],
      ["retrained", "retrained", 3],
    ]);
    // numbers: means over the runs' cached evaluations, in percent; seconds from the manifests
    const recs = [0, 1, 2].map((i) => cachedRecord(join(runs.unlearned, `run-00${i}`)));
    const ours = input.models[2]!;
    expect(ours.accuracy.test).to.be.closeTo(100 * mean(recs.map((r) => r.evaluation.splits.test!.accuracy)), 1e-9);
    expect(ours.accuracy.forget).to.be.closeTo(100 * mean(recs.map((r) => r.evaluation.splits.forget!.accuracy)), 1e-9);
    expect(ours.accuracy).not.to.have.property("validation"); // the data has no validation split
    const seconds = [0, 1, 2].map((i) => readManifest(join(runs.unlearned, `run-00${i}`))!.seconds.total!);
    expect(ours.secondsPerRun).to.be.closeTo(mean(seconds), 1e-9);
    // the figure: true-class logits of every forget example and every retain-sample example, pooled over runs
    const r0 = recs[0]!.evaluation;
    expect(ours.logits!.forget).to.have.length(3 * 12);
    expect(ours.logits!.forget[0]).to.equal(r0.forget.logits[0]![r0.forget.labels[0]!]);
    expect(ours.logits!.retain).to.have.length(3 * r0.retainSample.ids.length);
    if (r0.mia) expect(ours.mia).to.be.closeTo(mean(recs.map((r) => r.evaluation.mia!.accuracy)), 1e-9);

    const want = await scoreRuns({ unlearned: runs.unlearned, retrained: runs.retrained, intraOpThreads: 1 });
    expect(input.score).to.deep.equal({
      model: "stochastic",
      forgetScore: want.score.forget.F,
      forgetScoreLow: want.score.forget.interval.low,
      forgetScoreHigh: want.score.forget.interval.high,
      finalScore: want.score.finalScore,
      n: 3,
      s: 12,
      epsilons: Array.from(want.score.forget.epsilons),
    });
    const original = readManifest(runs.original)!;
    const forget = readManifest(join(runs.unlearned, "run-000"))!.forget!;
    expect(input.facts).to.include({
      dataSource: runs.data,
      forgetIdsHash: `sha256:${forget.idsSha256.slice(0, 16)}… (12 ids)`,
      originalModelHash: `sha256:${original.output.sha256.slice(0, 16)}…`,
      commit: original.environment.commit,
    });
    expect(input.title).to.equal(`Unlearning report: ${runs.data}, forget set random:12 (seed 0)`);

    const { svgs, html } = await renderReport(input);
    expect(Object.keys(svgs)).to.deep.equal(["logits", "accuracy", "epsilons"]);
    expect(svgs.logits).to.include(">stochastic</text>");
    expect(html).to.include(`N = 3 runs per model (unlearned and retrained), S = 12 forget examples`);
    expect(html).to.include(`F = ${want.score.forget.F.toFixed(4)}</strong>`);
  });

  it("report CLI: run folders, an eval record and a ReportInput JSON in one page", async () => {
    const record = join(tmp, "record.json");
    writeFileSync(record, JSON.stringify(cachedRecord(join(runs.finetune, "run-001"))));
    const out = join(tmp, "out", "report.html");
    const r = await runCli([
      "report",
      runs.original,
      runs.unlearned,
      record,
      runs.retrained,
      "--out",
      out,
      "--title",
      "tiny runs",
      "--threads",
      "1",
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.split("\n")[0]).to.equal(`${out}: 4 models, 3 figures, score`);
    const html = readFileSync(out, "utf8");
    expect(html).to.include("<title>tiny runs</title>");
    expect(html).to.include('<tr><td class="text">finetune (run-001)</td><td class="text">baseline</td><td>1</td>');
    expect(readdirSync(join(tmp, "out")).sort()).to.deep.equal([
      "report-accuracy.svg",
      "report-epsilons.svg",
      "report-logits.svg",
      "report.html",
    ]);
    // a ReportInput of another forget set does not merge
    const other = syntheticReportInput();
    writeFileSync(join(tmp, "other.json"), JSON.stringify(other));
    const bad = await runCli(["report", runs.unlearned, join(tmp, "other.json"), "--out", join(tmp, "x.html")]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr.split("\n").at(-2)).to.match(
      /^onnx-unlearn: .*other\.json: data source '.*' differs from 'npy:.*' in /,
    );
    expect(existsSync(join(tmp, "x.html"))).to.equal(false);
  });

  it("an eval record of a bare model is a baseline named after its file, with a note", () => {
    const rec = cachedRecord(join(runs.unlearned, "run-000"));
    const notes: string[] = [];
    const input = reportFromEvalRecord(
      { ...rec, model: { ...rec.model, file: "/elsewhere/mine.onnx" } },
      "r.json",
      (n) => notes.push(n),
    );
    expect(input.models.map((m) => [m.name, m.role, m.runs])).to.deep.equal([["mine", "baseline", 1]]);
    expect(notes).to.deep.equal([
      "r.json: no run manifest beside /elsewhere/mine.onnx; shown as a baseline named 'mine'",
    ]);
    const asRun = reportFromEvalRecord(rec, "r.json");
    expect(asRun.models[0]).to.include({ name: "stochastic (run-000)", role: "unlearned" });
  });

  it("two groups of one method take their folder names; no score with N < 2 (a note says why)", async () => {
    const again = copyRuns(runs.unlearned, join(tmp, "stochastic-b"));
    const notes: string[] = [];
    const input = await loadReport([runs.unlearned, again, join(runs.retrained, "run-000")], {
      intraOpThreads: 1,
      onNote: (n) => notes.push(n),
    });
    expect(input.models.map((m) => m.name)).to.deep.equal(["unlearned", "stochastic-b", "retrained"]);
    expect(input.score).to.equal(undefined);
    expect(notes).to.deep.equal(["no score: it needs N >= 2 unlearned and retrained runs (have 3 and 1)"]);
  });

  it("refuses a group of mixed runs, and unlearned runs of another original than the one given", async () => {
    const mixed = copyRuns(runs.unlearned, join(tmp, "mixed"));
    rmSync(join(mixed, "run-001"), { recursive: true });
    copyRuns(join(runs.finetune, "run-001"), join(mixed, "run-001"));
    await expectRefusal(
      reportFromRuns([mixed]),
      `${join(mixed, "run-001")}: is a baseline run (finetune), ${join(mixed, "run-000")} an unlearned run (stochastic): a group holds runs of one kind`,
    );
    const other = copyRuns(runs.original, join(tmp, "other-original"));
    editManifest(other, (m) => (m.output.sha256 = "ab".repeat(32)));
    await expectRefusal(
      reportFromRuns([other, runs.unlearned]),
      new RegExp(
        `^${join(runs.unlearned, "run-000")}: input\\.sha256 is [0-9a-f]{12}\\.\\.\\., not the original given \\(${other}, output\\.sha256 abababababab\\.\\.\\.\\): unlearned from another model$`,
      ),
    );
  });
});
