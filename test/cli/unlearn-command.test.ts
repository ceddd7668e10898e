import { expect } from "chai";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadModel, modelBytes } from "../../src/onnx/model-io.js";
import { sha256File } from "../../src/runs/index.js";
import type { RunManifest } from "../../src/runs/index.js";
import { tempDir } from "../data/make-data.js";
import { eventsOf } from "../helpers/spawn-cli.js";
import { changedInitializers, initializersOf } from "../helpers/initializers.js";
import { runCli } from "../helpers/run-cli.js";
import { FMNIST_MODEL, npyData } from "../helpers/tiny-job.js";

/** The model with its initializers taken out: graph, names, opset, metadata. */
function structure(path: string): Buffer {
  const m = loadModel(path);
  m.proto.graph!.initializer = [];
  return Buffer.from(modelBytes(m));
}

const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as RunManifest;

describe("cli/unlearn", function () {
  this.timeout(120000);
  let tmp: ReturnType<typeof tempDir>;
  let data: string;
  before(() => {
    tmp = tempDir("unlearn-cli");
    data = npyData(tmp.dir, 64);
  });
  after(() => tmp.remove());

  const quick = ["--batch", "8", "--max-steps", "2", "--threads", "1"];

  it("writes a run folder: the model with new initializers only, and its manifest; JSON-lines events", async () => {
    const out = join(tmp.dir, "run");
    const r = await runCli([
      "unlearn",
      FMNIST_MODEL,
      "--data",
      data,
      "--forget",
      "random:8",
      "--epochs",
      "1,1",
      "--layers",
      "3,2",
      "--json-lines",
      "--out",
      out,
      ...quick,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.equal("");
    const events = eventsOf(r.stdout);
    expect(events.map((e) => e.event)).to.deep.equal([
      "start",
      "reinit",
      "epoch",
      "reinit",
      "epoch",
      "run-done",
      "done",
    ]);
    expect(events.filter((e) => e.event === "reinit").map((e) => (e.draws as string[]).length)).to.deep.equal([3, 2]);
    expect(readdirSync(out).sort()).to.deep.equal(["manifest.json", "model.onnx"]);
    expect(structure(join(out, "model.onnx")).equals(structure(FMNIST_MODEL))).to.equal(true);
    expect(
      changedInitializers(initializersOf(FMNIST_MODEL), initializersOf(join(out, "model.onnx"))).length,
    ).to.be.above(0);

    const m = manifestOf(out);
    expect(m).to.deep.include({
      format: "onnx-unlearn-run/1",
      kind: "unlearn",
      method: "stochastic",
      readsForget: false,
    });
    expect(m.run).to.deep.equal({ index: 0, of: 1, seed: 0, forgetSeed: 0 });
    expect(m.input).to.deep.equal({ model: FMNIST_MODEL, sha256: sha256File(FMNIST_MODEL) });
    expect(m.output).to.deep.equal({ model: "model.onnx", sha256: sha256File(join(out, "model.onnx")) });
    expect(m.data).to.deep.include({ spec: data, shape: "1x28x28", numClasses: 10 });
    expect(m.retain.count).to.equal(43);
    expect(m.forget).to.deep.include({ spec: "random:8 (seed 0)", count: 8 });
    expect(m.config).to.deep.include({ epochs: [1, 1], layers: [3, 2], batchSize: 8, maxStepsPerEpoch: 2 });
    expect(m.reinitialised!.map((c) => c.draws.length)).to.deep.equal([3, 2]);
    expect(m.epochs.map((e) => [e.phase, e.images])).to.deep.equal([
      ["cycle 1", 16],
      ["cycle 2", 16],
    ]);
    expect(m.threads).to.equal(1);
    expect(m.executionProvider).to.equal("cpu");
    expect(m.seconds.total).to.be.above(0);
    expect(m.environment.node).to.equal(process.versions.node);
  });

  it("on a terminal: one line per re-initialisation, epoch and run on stderr", async () => {
    const out = join(tmp.dir, "tty");
    const was = process.stdout.isTTY;
    process.stdout.isTTY = true;
    try {
      const r = await runCli([
        "unlearn",
        FMNIST_MODEL,
        "--data",
        data,
        "--forget",
        "random:8",
        "--epochs",
        "1",
        "--out",
        out,
        ...quick,
      ]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.equal("");
      expect(r.stderr).to.match(/^unlearn \(stochastic\): 1 of 1 run\(s\) in /);
      expect(r.stderr).to.match(/run 0 cycle 1: re-initialised \S+/);
      expect(r.stderr).to.match(/run 0 cycle 1 epoch 1: mean loss \d\.\d+e[-+]\d+, \d+ img\/s/);
      expect(r.stderr).to.match(/unlearn \(stochastic\): 1 made, 0 skipped/);
    } finally {
      process.stdout.isTTY = was;
    }
  });

  it("--config holds options, flags win; presets and baselines set the rest", async () => {
    const config = join(tmp.dir, "run.json");
    writeFileSync(config, JSON.stringify({ epochs: [1, 1, 1], layers: 2, sigma: 0, loss: "ce" }));
    const out = join(tmp.dir, "config");
    const r = await runCli([
      "unlearn",
      FMNIST_MODEL,
      "--data",
      data,
      "--forget",
      "random:8",
      "--config",
      config,
      "--epochs",
      "1",
      "--json-lines",
      "--out",
      out,
      ...quick,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(manifestOf(out).config).to.deep.include({ epochs: [1], layers: [2], sigma: 0, loss: "ce" });

    const algo2 = join(tmp.dir, "algo2");
    const r2 = await runCli([
      "unlearn",
      FMNIST_MODEL,
      "--data",
      data,
      "--forget",
      "random:8",
      "--preset",
      "algo2",
      "--json-lines",
      "--out",
      algo2,
      ...quick.slice(0, 2),
      "--max-steps",
      "1",
      "--threads",
      "1",
    ]);
    expect(r2.code, r2.stderr).to.equal(0);
    const m2 = manifestOf(algo2);
    expect(m2.config).to.deep.include({ epochs: [2, 1, 1, 1], layers: [6, 6, 6, 6] });
    expect(m2.epochs.map((e) => e.phase)).to.deep.equal(["cycle 1", "cycle 1", "cycle 2", "cycle 3", "cycle 4"]);

    const ft = join(tmp.dir, "finetune");
    const r3 = await runCli([
      "unlearn",
      FMNIST_MODEL,
      "--data",
      data,
      "--forget",
      "random:8",
      "--method",
      "finetune",
      "--json-lines",
      "--out",
      ft,
      ...quick,
    ]);
    expect(r3.code, r3.stderr).to.equal(0);
    expect(eventsOf(r3.stdout).some((e) => e.event === "reinit")).to.equal(false);
    const m3 = manifestOf(ft);
    expect(m3).to.deep.include({ method: "finetune", readsForget: false });
    expect(m3.reinitialised).to.equal(undefined);
    expect(m3.epochs.map((e) => e.phase)).to.deep.equal(["finetune"]);
  });

  it("--retain-only: a source that holds only the retain data, no forget set in the manifest", async () => {
    const retainData = npyData(tmp.dir, 40, "retain-data");
    const out = join(tmp.dir, "retain-only");
    const r = await runCli([
      "unlearn",
      FMNIST_MODEL,
      "--data",
      retainData,
      "--retain-only",
      "--normalise",
      "auto",
      "--epochs",
      "1",
      "--json-lines",
      "--out",
      out,
      ...quick,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const m = manifestOf(out);
    expect(m.forget).to.equal(undefined);
    expect(m.run).to.deep.equal({ index: 0, of: 1, seed: 0 });
    expect(m.retain.count).to.equal(32);
    expect(m.config.normalisation).to.have.keys("mean", "std");
  });

  it("--help lists the method's switches, runs and shards", async () => {
    const r = await runCli(["unlearn", "--help"]);
    expect(r.code).to.equal(0);
    for (const flag of [
      "--forget",
      "--retain-only",
      "--preset",
      "--method",
      "--config",
      "--epochs",
      "--layers",
      "--schedule",
      "--sigma",
      "--loss",
      "--reinit",
      "--exclude",
      "--init",
      "--runs",
      "--shard",
      "--json-lines",
      "--out",
    ])
      expect(r.stdout, flag).to.include(flag);
    expect(r.stdout).to.match(/algo1, algo2/);
  });

  it("bad flags: one line naming the problem, exit 2, nothing written", async () => {
    const out = join(tmp.dir, "bad");
    const base = ["--data", data, "--forget", "random:8", "--out", out, ...quick];
    const cases: [string[], RegExp][] = [
      [
        ["unlearn", FMNIST_MODEL, "--data", data, "--forget", "random:8"],
        /required option '--out <dir>' not specified/,
      ],
      [["unlearn", FMNIST_MODEL, ...base, "--schedule", "warp:1"], /--schedule warp:1/],
      [["unlearn", FMNIST_MODEL, ...base, "--init", "xavier"], /init: expected one of torchvision, pytorch-default/],
      [["unlearn", FMNIST_MODEL, ...base, "--reinit", "half"], /reinit: expected one of random, none, all-body/],
      [["unlearn", FMNIST_MODEL, ...base, "--normalise", "0.5"], /--normalise expects none, auto/],
      [["unlearn", FMNIST_MODEL, ...base, "--bogus"], /unknown option '--bogus'/],
      [["unlearn", join(tmp.dir, "data", "x.npy"), ...base], /x\.npy.*not a valid ONNX model/],
    ];
    for (const [argv, message] of cases) {
      const r = await runCli(argv);
      expect(r.code, `${argv.join(" ")}\n${r.stderr}`).to.equal(2);
      expect(r.stderr.trim().split("\n"), r.stderr).to.have.length(1);
      expect(r.stderr).to.match(message);
    }
    expect(readdirSync(tmp.dir)).to.not.include("bad");
  });
});
