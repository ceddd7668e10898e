import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { sha256File, type RunManifest } from "../../src/runs/index.js";
import { tempDir } from "../data/make-data.js";
import { changedInitializers, initializersOf } from "../helpers/initializers.js";
import { eventsOf } from "../helpers/spawn-cli.js";
import { runCli } from "../helpers/run-cli.js";
import { FMNIST_MODEL, npyData } from "../helpers/tiny-job.js";

const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as RunManifest;

describe("cli/train", function () {
  this.timeout(120000);
  let tmp: ReturnType<typeof tempDir>;
  let data: string;
  before(() => {
    tmp = tempDir("train-cli");
    data = npyData(tmp.dir, 80); // train split 64, test 16
  });
  after(() => tmp.remove());

  const quick = ["--batch", "8", "--max-steps", "2", "--threads", "1", "--json-lines"];

  it("trains a zoo model from scratch into a run folder, with per-epoch validation when there is a validation split", async () => {
    const out = join(tmp.dir, "original");
    const r = await runCli([
      "train",
      "--model",
      "zoo:resnet18w8:width=2",
      "--data",
      data,
      "--validation",
      "0.25",
      "--epochs",
      "2",
      "--lr",
      "0.1",
      "--out",
      out,
      ...quick,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const events = eventsOf(r.stdout);
    expect(events.map((e) => e.event)).to.deep.equal(["start", "epoch", "epoch", "run-done", "done"]);
    expect(readdirSync(out).sort()).to.deep.equal(["manifest.json", "model.onnx"]);
    const m = manifestOf(out);
    expect(m).to.deep.include({ kind: "train", method: "train", readsForget: false });
    expect(m.input).to.deep.equal({ zoo: "zoo:resnet18w8:channels=1,classes=10,imageSize=28,width=2" });
    expect(m.output.sha256).to.equal(sha256File(join(out, "model.onnx")));
    expect(m.forget).to.equal(undefined);
    expect(m.retain.count).to.equal(48); // 64 train minus 16 validation
    expect(m.config).to.deep.include({
      epochs: 2,
      lr: 0.1,
      batchSize: 8,
      momentum: 0.9,
      weightDecay: 5e-4,
      trainedOn: "train",
      maxStepsPerEpoch: 2,
    });
    expect(m.epochs).to.have.length(2);
    for (const e of m.epochs) {
      expect(e.phase).to.equal("train");
      expect(e.images).to.equal(16);
      expect(e.validation!.accuracy).to.be.within(0, 1);
      expect(e.validation!.loss).to.be.above(0);
    }
  });

  it("--exclude-forget trains a retrained reference on the retain set; its manifest names the forget set", async () => {
    const out = join(tmp.dir, "retrained");
    const r = await runCli([
      "train",
      "--model",
      "zoo:resnet18w8:width=2",
      "--data",
      data,
      "--exclude-forget",
      "random:16",
      "--forget-seed",
      "2",
      "--epochs",
      "1",
      "--out",
      out,
      ...quick,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const m = manifestOf(out);
    expect(m.config.trainedOn).to.equal("retain");
    expect(m.retain.count).to.equal(48);
    expect(m.forget).to.deep.include({ spec: "random:16 (seed 2)", count: 16 });
    expect(m.run).to.deep.equal({ index: 0, of: 1, seed: 0, forgetSeed: 2 });
  });

  it("--model <file.onnx> keeps the graph and gives every layer fresh values from the run seed; --runs 2 makes two", async () => {
    const out = join(tmp.dir, "from-file");
    const r = await runCli([
      "train",
      "--model",
      FMNIST_MODEL,
      "--data",
      data,
      "--epochs",
      "1",
      "--runs",
      "2",
      "--seed",
      "5",
      "--out",
      out,
      ...quick,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(readdirSync(out).sort()).to.deep.equal(["run-000", "run-001"]);
    const input = initializersOf(FMNIST_MODEL);
    const runs = ["run-000", "run-001"].map((d) => join(out, d));
    for (const dir of runs) {
      expect(changedInitializers(input, initializersOf(join(dir, "model.onnx")))).to.deep.equal(
        [...input.keys()].sort(),
      );
      expect(manifestOf(dir).input).to.deep.equal({ model: FMNIST_MODEL, sha256: sha256File(FMNIST_MODEL) });
    }
    expect(runs.map((d) => manifestOf(d).run.seed)).to.deep.equal([5, 6]);
    expect(manifestOf(runs[0]!).output.sha256).to.not.equal(manifestOf(runs[1]!).output.sha256);
  });

  it("--help lists its options", async () => {
    const r = await runCli(["train", "--help"]);
    expect(r.code).to.equal(0);
    for (const flag of [
      "--model",
      "--data",
      "--out",
      "--exclude-forget",
      "--forget-seed",
      "--epochs",
      "--lr",
      "--batch",
      "--runs",
      "--shard",
      "--json-lines",
      "--steps-per-run",
      "--spin",
    ])
      expect(r.stdout, flag).to.include(flag);
  });

  it("bad flags: one line, exit 2, no folder", async () => {
    const out = join(tmp.dir, "bad");
    const cases: [string[], RegExp][] = [
      [["train", "--data", data, "--out", out], /required option '--model <spec>' not specified/],
      [["train", "--model", "zoo:resnet99", "--data", data, "--out", out], /unknown zoo model 'resnet99'/],
      [
        ["train", "--model", "zoo:resnet18w8:depth=3", "--data", data, "--out", out],
        /expected key=value with key one of width/,
      ],
      [
        ["train", "--model", "zoo:resnet18w8:width=0", "--data", data, "--out", out],
        /width expects a whole number >= 1/,
      ],
      [["train", "--model", join(tmp.dir, "none.onnx"), "--data", data, "--out", out], /none\.onnx: no such file/],
      [["train", "--model", "zoo:resnet18w8", "--data", data, "--lr", "0", "--out", out], /--lr expects a number > 0/],
      [
        ["train", "--model", "zoo:resnet18w8", "--data", data, "--momentum", "1", "--out", out],
        /--momentum expects a number in \[0, 1\)/,
      ],
      [
        ["train", "--model", "zoo:resnet18w8", "--data", data, "--epochs", "0", "--out", out],
        /--epochs expects an integer >= 1/,
      ],
      [["train", "--model", "zoo:resnet18w8", "--data", "nosuch:x", "--out", out], /nosuch:x/],
      [
        ["train", "--model", "zoo:resnet18w8", "--data", data, "--steps-per-run", "0", "--out", out],
        /--steps-per-run expects an integer >= 1, got '0'/,
      ],
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
