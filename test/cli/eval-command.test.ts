import { expect } from "chai";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { datasetIdentity, openSource } from "../../src/data/index.js";
import { rngFor } from "../../src/data/random.js";
import { EVAL_FORMAT, type EvalRecord } from "../../src/evaluation/eval-cache.js";
import { buildZooModel } from "../../src/models/index.js";
import { saveModel } from "../../src/onnx/model-io.js";
import { finishRun, RUN_FORMAT, runEnvironment, sha256File, type RunManifest } from "../../src/runs/index.js";
import { tempDir, writeNpyPair } from "../data/make-data.js";
import { runCli } from "../helpers/run-cli.js";

type EvalJson = EvalRecord & { cached: boolean; cacheFile?: string };

describe("cli/eval", function () {
  this.timeout(120000);
  const t = tempDir("eval-cli");
  let data: string;
  let run: string;

  /** A run folder as `train` writes it: model.onnx, then the manifest (only the fields eval reads matter). */
  async function writeRun(
    dir: string,
    channels: 1 | 3,
    normalisation: RunManifest["config"]["normalisation"],
    forget?: RunManifest["forget"],
  ) {
    mkdirSync(dir, { recursive: true });
    saveModel(buildZooModel("resnet18w8", { channels, classes: 10, imageSize: 8 }), join(dir, "model.onnx"));
    const manifest: RunManifest = {
      format: RUN_FORMAT,
      kind: "train",
      method: "train",
      run: { index: 0, of: 1, seed: 0 },
      input: { zoo: "resnet18w8" },
      output: { model: "model.onnx", sha256: sha256File(join(dir, "model.onnx")) },
      data: { ...datasetIdentity(await openSource(data)) },
      retain: { count: 240, idsSha256: "-" },
      ...(forget ? { forget } : {}),
      readsForget: false,
      config: { normalisation },
      epochs: [],
      seconds: {},
      executionProvider: "cpu",
      environment: runEnvironment(),
      finished: new Date().toISOString(),
    };
    finishRun(dir, manifest);
  }

  const evalJson = async (...args: string[]) => {
    const r = await runCli(["eval", ...args, "--data", data, "--threads", "1", "--json"]);
    expect(r.stderr, r.stderr).to.equal("");
    expect(r.code).to.equal(0);
    return JSON.parse(r.stdout) as EvalJson;
  };

  before(async () => {
    const rng = rngFor("eval-cli labels");
    const p = writeNpyPair(
      t.dir,
      300,
      [1, 8, 8],
      Array.from({ length: 300 }, () => Math.floor(rng() * 10)),
    );
    data = `npy:${p.x},${p.y}`; // 240 train, 60 test
    run = join(t.dir, "run");
    await writeRun(run, 1, { mean: [0.5], std: [0.25] });
  });
  after(() => t.remove());

  it("evaluates a run folder, caches the record in <run>/eval/<key>.json, and reads it back the second time", async () => {
    const first = await evalJson(run, "--forget", "random:40");
    expect(first.format).to.equal(EVAL_FORMAT);
    expect(first.cached).to.equal(false);
    expect(first.cacheFile).to.equal(join(run, "eval", `${first.key}.json`));
    expect(readdirSync(join(run, "eval"))).to.deep.equal([`${first.key}.json`]);
    expect(first.model.sha256).to.equal(sha256File(join(run, "model.onnx")));
    expect(first.forget.count).to.equal(40);
    // the run's own normalisation, from its manifest
    expect(first.settings.normalisation).to.deep.equal({ mean: [0.5], std: [0.25] });
    const e = first.evaluation;
    expect(Object.keys(e.splits)).to.deep.equal(["retain", "forget", "test"]);
    expect(e.splits.retain!.count).to.equal(200);
    expect(e.forget.confidences).to.have.length(40);
    expect(e.mia!.perSide).to.equal(40);
    expect(first.notes).to.deep.equal([]);

    const second = await evalJson(run, "--forget", "random:40");
    expect(second.cached).to.equal(true);
    const { cached: _a, ...a } = first;
    const { cached: _b, ...b } = second;
    expect(b).to.deep.equal(a);

    const text = await runCli(["eval", run, "--data", data, "--forget", "random:40"]);
    expect(text.code).to.equal(0);
    expect(text.stdout).to.include(`from the cache: ${first.cacheFile}`);
    expect(text.stdout).to.match(/^retain\s+200\s+\d+\.\d\d%\s+\d+\.\d{4}$/m);
    expect(text.stdout).to.match(/^test\s+60\s/m);
    expect(text.stdout).to.match(/^0 0\s+(\d+\.\d\d%|-)\s/m); // per-class rows: "<class> <name>"
    expect(text.stdout).to.match(/membership inference .* accuracy 0\.\d{3} ± 0\.\d{3}/);
  });

  it("another forget set, seed or normalisation is another key; a damaged cache file is recomputed", async () => {
    const base = await evalJson(run, "--forget", "random:40");
    const otherSeed = await evalJson(run, "--forget", "random:40", "--forget-seed", "1");
    const otherSpec = await evalJson(run, "--forget", "classes:3");
    const otherNorm = await evalJson(run, "--forget", "random:40", "--normalise", "none");
    for (const r of [otherSeed, otherSpec, otherNorm]) {
      expect(r.cached).to.equal(false);
      expect(r.key).to.not.equal(base.key);
    }
    expect(otherSeed.forget.idsSha256).to.not.equal(base.forget.idsSha256);
    expect(otherNorm.settings.normalisation).to.equal(null);
    expect(readdirSync(join(run, "eval")).sort()).to.have.length(4);
    writeFileSync(base.cacheFile!, '{"format": "onnx-unlearn-eval/1", "trunc');
    const again = await evalJson(run, "--forget", "random:40");
    expect(again.cached).to.equal(false);
    expect(again.evaluation.splits).to.deep.equal(base.evaluation.splits);
    expect(JSON.parse(readFileSync(base.cacheFile!, "utf8")).key).to.equal(base.key);
  });

  it("evaluates a bare model file without caching", async () => {
    const r = await evalJson(join(run, "model.onnx"), "--forget", "random:40");
    expect(r.cached).to.equal(false);
    expect(r.cacheFile).to.equal(undefined);
    expect(r.settings.normalisation).to.equal(null); // no manifest: none unless --normalise
  });

  it("notes a forget set other than the one the run was made with", async () => {
    const other = join(t.dir, "other-forget");
    await writeRun(other, 1, "none", { spec: "random:10 (seed 0)", count: 10, idsSha256: "0".repeat(64) });
    const r = await evalJson(other, "--forget", "random:40");
    expect(r.notes).to.deep.equal([
      "the run was made with forget set random:10 (seed 0) (10 examples), evaluated with another",
    ]);
    const text = await runCli(["eval", other, "--data", data, "--forget", "random:40"]);
    expect(text.stdout).to.include("note: the run was made with forget set random:10");
  });

  it("bad input: one line and exit code 2", async () => {
    const bad = async (args: string[], pattern: RegExp) => {
      const r = await runCli(["eval", ...args]);
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr).to.match(pattern);
      expect(r.stderr.trim().split("\n")).to.have.length(1);
    };
    const empty = join(t.dir, "empty.json");
    writeFileSync(empty, "[]");
    await bad([run, "--data", data, "--forget", `ids:${empty}`], /forget set ids:.*empty\.json is empty/);
    await bad([run, "--data", data], /--forget is required/);
    const rgb = join(t.dir, "rgb");
    await writeRun(rgb, 3, "none");
    await bad(
      [rgb, "--data", data, "--forget", "random:40"],
      /does not fit model .*images have 1 channels, the model expects 3/,
    );
    const noManifest = join(t.dir, "bare");
    mkdirSync(noManifest);
    await bad([noManifest, "--data", data, "--forget", "random:40"], /bare: is not a complete run folder/);
    await bad([join(t.dir, "missing"), "--data", data, "--forget", "random:40"], /missing: does not exist/);
    const changed = join(t.dir, "changed");
    await writeRun(changed, 1, "none");
    saveModel(
      buildZooModel("resnet18w8", { channels: 1, classes: 10, imageSize: 8, seed: 1 }),
      join(changed, "model.onnx"),
    );
    await bad([changed, "--data", data, "--forget", "random:40"], /model\.onnx: does not match its manifest/);
    await bad([run, "--data", data, "--forget", "random:40", "--normalise", "1,2,3"], /--normalise expects none, auto/);
  });
});
