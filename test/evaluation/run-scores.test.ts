import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pairedDifference, pairedFinalDifference, scoreConfs } from "../../src/evaluation/challenge-score/index.js";
import type { EvalRecord } from "../../src/evaluation/eval-cache.js";
import { scoreRuns, type ScoreRunsOptions } from "../../src/evaluation/run-scores.js";
import { loadModel, readInitializers, saveModel } from "../../src/onnx/model-io.js";
import { withWeights } from "../../src/interop/with-weights.js";
import { sha256File } from "../../src/runs/index.js";
import { expectRefusal as expectUserError } from "../helpers/refusal.js";
import { copyRuns, editManifest, tinyRuns, type TinyRuns } from "../helpers/tiny-runs.js";

/** The one cached evaluation in each run of a group, by run index. */
function records(group: string, n: number): EvalRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const dir = join(group, `run-00${i}`, "eval");
    const files = readdirSync(dir);
    expect(files, dir).to.have.length(1);
    return JSON.parse(readFileSync(join(dir, files[0]!), "utf8")) as EvalRecord;
  });
}

describe("evaluation/run-scores", function () {
  this.timeout(120000);
  let runs: TinyRuns;
  let tmp: string;
  const opts = (o: Partial<ScoreRunsOptions>): ScoreRunsOptions => ({
    unlearned: runs.unlearned,
    retrained: runs.retrained,
    intraOpThreads: 1,
    ...o,
  });
  before(async () => {
    runs = await tinyRuns();
    tmp = mkdtempSync(join(tmpdir(), "run-scores-"));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("scores N = 3 unlearned against N = 3 retrained runs exactly as scoreConfs scores their cached evaluations", async () => {
    const got = await scoreRuns(opts({}));
    expect(got.score.forget.N).to.equal(3);
    expect(got.score.forget.S).to.equal(12);
    expect(got.notes).to.deep.equal([]);
    expect(got.forget.spec).to.equal("random:12 (seed 0)");
    expect(got.unlearned.map((r) => r.dir)).to.deep.equal([0, 1, 2].map((i) => join(runs.unlearned, `run-00${i}`)));
    // the same score from the records as written to disk, built by hand into the --confs input
    const u = records(runs.unlearned, 3);
    const r = records(runs.retrained, 3);
    const pct = (x: EvalRecord, s: "retain" | "test") => 100 * x.evaluation.splits[s]!.accuracy;
    const want = scoreConfs({
      unlearned_confs: u.map((x) => x.evaluation.forget.confidences),
      retrained_confs: r.map((x) => x.evaluation.forget.confidences),
      unlearned_retain_acc: u.map((x) => pct(x, "retain")),
      unlearned_test_acc: u.map((x) => pct(x, "test")),
      retrained_retain_acc: r.map((x) => pct(x, "retain")),
      retrained_test_acc: r.map((x) => pct(x, "test")),
    });
    expect(Array.from(got.score.forget.epsilons)).to.deep.equal(Array.from(want.forget.epsilons));
    expect(got.score.forget.F).to.equal(want.forget.F);
    expect(got.score.finalScore).to.equal(want.finalScore);
    expect(got.score.forget.interval).to.deep.equal(want.forget.interval);
    // the confidences differ between runs: the score compares real distributions
    expect(new Set(u.map((x) => x.evaluation.forget.confidences[0])).size).to.equal(3);

    const again = await scoreRuns(opts({}));
    expect(again.unlearned.every((x) => x.cached) && again.retrained.every((x) => x.cached)).to.equal(true);
    expect(Array.from(again.score.forget.epsilons)).to.deep.equal(Array.from(want.forget.epsilons));
  });

  it("with unequal N scores the first min(N) runs of each side and says so", async () => {
    const got = await scoreRuns(opts({ unlearned: runs.finetune }));
    expect(got.score.forget.N).to.equal(2);
    expect(got.retrained.map((r) => r.dir)).to.deep.equal([0, 1].map((i) => join(runs.retrained, `run-00${i}`)));
    expect(got.notes).to.deep.equal([
      "2 unlearned and 3 retrained runs: scoring the first 2 of each (run-000 to run-001); the other 1 of retrained are left out",
    ]);
  });

  it("with a baseline: both scored against the same retrained runs, and F(unlearned) - F(baseline) paired", async () => {
    // the baseline: the unlearned runs with their classifier's bias moved (other models of the same original)
    const b = copyRuns(runs.unlearned, join(tmp, "baseline"));
    for (let i = 0; i < 3; i++) {
      const dir = join(b, `run-00${i}`);
      const model = loadModel(join(dir, "model.onnx"));
      const [name, bias] = [...readInitializers(model)].find(([k, t]) => /fc.*bias/.test(k) && t.dims.length === 1)!;
      const moved = { ...bias, data: Float32Array.from(bias.data as Float32Array, (x, c) => x + (c === 0 ? 2 : -1)) };
      saveModel(withWeights(model, new Map([[name, moved]])), join(dir, "model.onnx"));
      rmSync(join(dir, "eval"), { recursive: true, force: true });
      editManifest(dir, (m) => (m.output.sha256 = sha256File(join(dir, "model.onnx"))));
    }
    const got = await scoreRuns(opts({ baseline: b }));
    const alone = await scoreRuns(opts({}));
    const base = await scoreRuns(opts({ unlearned: b }));
    expect(got.notes).to.deep.equal([]);
    expect(got.baseline!.runs.map((r) => r.dir)).to.deep.equal([0, 1, 2].map((i) => join(b, `run-00${i}`)));
    expect(got.score.forget.F).to.equal(alone.score.forget.F);
    expect(Array.from(got.baseline!.score.forget.epsilons)).to.deep.equal(Array.from(base.score.forget.epsilons));
    expect(got.baseline!.score.finalScore).to.equal(base.score.finalScore);
    expect(got.baseline!.difference).to.deep.equal({
      forget: pairedDifference(alone.score.forget, base.score.forget),
      final: pairedFinalDifference(alone.score, base.score),
    });
    // the moved bias changes the forget-set confidences: a real second group, not the first one again
    expect(Array.from(base.score.forget.epsilons)).not.to.deep.equal(Array.from(alone.score.forget.epsilons));

    // unequal N: the first min(N) of all three, and the note names the folders cut
    const fewer = await scoreRuns(opts({ baseline: runs.finetune }));
    expect(fewer.score.forget.N).to.equal(2);
    expect(fewer.notes).to.deep.equal([
      "3 unlearned, 3 retrained and 2 baseline runs: scoring the first 2 of each (run-000 to run-001); " +
        "the other 1 of unlearned and the other 1 of retrained are left out",
    ]);
  });

  it("refuses a baseline of another original or the same models again", async () => {
    const run = (group: string, i: number) => join(group, `run-00${i}`);
    const other = copyRuns(runs.unlearned, join(tmp, "baseline-other-original"));
    editManifest(run(other, 1), (m) => (m.input.sha256 = "ab".repeat(32)));
    await expectRefusal(
      scoreRuns(opts({ baseline: other })),
      new RegExp(
        `^${run(other, 1)}: input\\.sha256 is abababababab\\.\\.\\., .*: unlearned from different original models$`,
      ),
    );
    await expectRefusal(
      scoreRuns(opts({ baseline: runs.unlearned })),
      new RegExp(
        `^${run(runs.unlearned, 0)}: output\\.sha256 [0-9a-f]{12}\\.\\.\\. is also ${run(runs.unlearned, 0)}'s: the same model twice`,
      ),
    );
  });

  it("reopens moved data and an id list it cannot reopen from the overrides, checked by hash", async () => {
    const u = copyRuns(runs.unlearned, join(tmp, "moved-u"));
    const r = copyRuns(runs.retrained, join(tmp, "moved-r"));
    for (const group of [u, r])
      for (const i of [0, 1, 2])
        editManifest(join(group, `run-00${i}`), (m) => {
          m.data.spec = "npy:/nowhere/x.npy,/nowhere/y.npy";
          m.forget!.spec = "ids:12 ids";
        });
    await expectRefusal(
      scoreRuns(opts({ unlearned: u, retrained: r })),
      /^\/nowhere\/x\.npy: .* \(the data of .*moved-u\/run-000, as its manifest records it; give --data if it moved\)$/,
    );
    await expectRefusal(
      scoreRuns(opts({ unlearned: u, retrained: r, data: runs.data })),
      `${join(u, "run-000")}: records its forget set only as 12 ids (no file to reopen): give --forget ids:<file>`,
    );
    await expectRefusal(
      scoreRuns(opts({ unlearned: u, retrained: r, data: runs.data, forget: runs.forget, forgetSeed: 5 })),
      /^forget set random:12 \(seed 5\) selects other examples \(sha256 [0-9a-f]{12}\.\.\.\) than the runs were made with \(ids:12 ids, 12 ids/,
    );
    const got = await scoreRuns(opts({ unlearned: u, retrained: r, data: runs.data, forget: runs.forget }));
    const direct = await scoreRuns(opts({}));
    expect(Array.from(got.score.forget.epsilons)).to.deep.equal(Array.from(direct.score.forget.epsilons));
  });

  describe("refuses, naming the run and the field", () => {
    const run = (group: string, i: number) => join(group, `run-00${i}`);

    it("unlearned runs that are not unlearn runs, retrained runs that are not retain-set train runs", async () => {
      await expectRefusal(
        scoreRuns(opts({ unlearned: runs.retrained })),
        `${run(runs.retrained, 0)}: kind is 'train', expected an unlearned run (from 'unlearn --runs N')`,
      );
      await expectRefusal(
        scoreRuns(opts({ retrained: runs.finetune })),
        `${run(runs.finetune, 0)}: kind is 'unlearn', expected a retrained run (from 'train --runs N --exclude-forget <spec>')`,
      );
      await expectRefusal(
        scoreRuns(opts({ retrained: runs.original })),
        `${runs.original}: config.trainedOn is "train", expected "retain": an original, trained on all of train, ` +
          `not a retrained reference (from 'train --exclude-forget <spec>')`,
      );
    });

    it("another original, other data, another forget set, one model twice", async () => {
      const u = copyRuns(runs.unlearned, join(tmp, "other-original"));
      editManifest(run(u, 2), (m) => (m.input.sha256 = "ab".repeat(32)));
      await expectRefusal(
        scoreRuns(opts({ unlearned: u })),
        new RegExp(
          `^${run(u, 2)}: input\\.sha256 is abababababab\\.\\.\\., ${run(u, 0)} has [0-9a-f]{12}\\.\\.\\.: unlearned from different original models$`,
        ),
      );
      const r = copyRuns(runs.retrained, join(tmp, "other-data"));
      editManifest(run(r, 1), (m) => ((m.data.test as { sha256: string }).sha256 = "cd".repeat(32)));
      await expectRefusal(
        scoreRuns(opts({ retrained: r })),
        new RegExp(
          `^${run(r, 1)}: data\\.test\\.sha256 is cdcdcdcdcdcd\\.\\.\\., ${run(runs.unlearned, 0)} has .*: the runs were made on different data$`,
        ),
      );
      const f = copyRuns(runs.retrained, join(tmp, "other-forget"));
      editManifest(run(f, 0), (m) => (m.forget!.idsSha256 = "ef".repeat(32)));
      await expectRefusal(
        scoreRuns(opts({ retrained: f })),
        new RegExp(
          `^${run(f, 0)}: forget\\.idsSha256 is efefefefefef\\.\\.\\. \\(random:12 \\(seed 0\\), 12 ids\\), .*: the runs forget different examples$`,
        ),
      );
      const twice = copyRuns(runs.unlearned, join(tmp, "twice"));
      rmSync(run(twice, 1), { recursive: true });
      copyRuns(run(twice, 0), run(twice, 1));
      editManifest(run(twice, 1), (m) => (m.run.index = 1));
      await expectRefusal(
        scoreRuns(opts({ unlearned: twice })),
        new RegExp(
          `^${run(twice, 1)}: output\\.sha256 [0-9a-f]{12}\\.\\.\\. is also ${run(twice, 0)}'s: the same model twice, not independent runs$`,
        ),
      );
    });

    it("N < 2, missing and incomplete runs", async () => {
      await expectRefusal(
        scoreRuns(opts({ unlearned: run(runs.unlearned, 0) })),
        `${run(runs.unlearned, 0)}: holds 1 run; the score needs N >= 2 runs on each side (--runs N)`,
      );
      const missing = copyRuns(runs.unlearned, join(tmp, "missing"));
      rmSync(run(missing, 1), { recursive: true });
      await expectRefusal(
        scoreRuns(opts({ unlearned: missing })),
        `${missing}: run-001 is missing (the manifests say --runs 3; found 2)`,
      );
      const incomplete = copyRuns(runs.retrained, join(tmp, "incomplete"));
      rmSync(join(run(incomplete, 2), "manifest.json"));
      await expectRefusal(
        scoreRuns(opts({ retrained: incomplete })),
        `${run(incomplete, 2)}: is incomplete (no valid manifest.json: still running, or stopped; rerun its command to finish it)`,
      );
      await expectRefusal(
        scoreRuns(opts({ retrained: join(tmp, "absent") })),
        `${join(tmp, "absent")}: does not exist`,
      );
    });

    it("a model with NaN logits", async () => {
      const u = copyRuns(runs.unlearned, join(tmp, "nan"));
      const dir = run(u, 1);
      const model = loadModel(join(dir, "model.onnx"));
      const weights = readInitializers(model);
      const [name, bias] = [...weights].find(([k, t]) => /fc.*bias/.test(k) && t.dims.length === 1)!;
      const nan = { ...bias, data: new Float32Array(bias.data.length).fill(NaN) };
      saveModel(withWeights(model, new Map([[name, nan]])), join(dir, "model.onnx"));
      rmSync(join(dir, "eval"), { recursive: true, force: true });
      editManifest(dir, (m) => (m.output.sha256 = sha256File(join(dir, "model.onnx"))));
      await expectRefusal(
        scoreRuns(opts({ unlearned: u })),
        new RegExp(
          `^${dir}: model\\.onnx on the retain set: logits of example id \\d+ are not finite: \\[NaN,NaN,NaN,NaN\\]$`,
        ),
      );
      // a cached record with a non-finite confidence (JSON writes NaN as null) is refused the same way
      const c = copyRuns(runs.unlearned, join(tmp, "nan-cached"));
      await scoreRuns(opts({ unlearned: c })); // makes sure every run has its cached evaluation
      const evalDir = join(run(c, 0), "eval");
      const file = join(evalDir, readdirSync(evalDir)[0]!);
      const record = JSON.parse(readFileSync(file, "utf8")) as EvalRecord;
      (record.evaluation.forget.confidences as unknown[])[3] = null;
      writeFileSync(file, JSON.stringify(record));
      await expectRefusal(
        scoreRuns(opts({ unlearned: c })),
        `${run(c, 0)}: forget example ${record.evaluation.forget.ids[3]} has confidence NaN: the model gives NaN or infinite logits`,
      );
    });
  });
});

/** The shared refusal check, and the message on one line. */
async function expectRefusal(p: Promise<unknown>, message: string | RegExp): Promise<void> {
  expect(await expectUserError(p, message)).not.to.include("\n");
}
