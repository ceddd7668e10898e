import { expect } from "chai";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { RunManifest } from "../../src/runs/index.js";
import { tempDir } from "../data/make-data.js";
import { runCli } from "../helpers/run-cli.js";

const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as RunManifest;

describe("cli/demo", function () {
  this.timeout(300000);
  let tmp: ReturnType<typeof tempDir>;
  before(() => (tmp = tempDir("demo-cli")));
  after(() => tmp.remove());

  it("--help describes the story and its options", async () => {
    const r = await runCli(["demo", "--help"]);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/train a ResNet-18 \(width 8\) on Fashion-MNIST/);
    for (const flag of [
      "--out",
      "--train-size",
      "--forget",
      "--epochs",
      "--unlearn-epochs",
      "--layers",
      "--schedule",
      "--no-retrain",
      "--eval-limit",
      "--json",
    ])
      expect(r.stdout, flag).to.include(flag);
  });

  it("trains, retrains, unlearns (three run folders) and scores the three on Fashion-MNIST (a small run)", async () => {
    const out = join(tmp.dir, "demo");
    const argv = [
      "demo",
      "--out",
      out,
      "--train-size",
      "256",
      "--epochs",
      "1",
      "--unlearn-epochs",
      "1",
      "--eval-limit",
      "64",
      "--threads",
      "1",
      "--json",
    ];
    const r = await runCli(argv);
    expect(r.code, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout) as {
      trainSize: number;
      forgetCount: number;
      retainCount: number;
      runs: Record<string, string>;
      scores: Record<string, Record<string, { count: number; accuracy: number }>>;
    };
    expect(report.trainSize).to.equal(256);
    expect(report.forgetCount).to.equal(26); // 10% of 256, rounded
    expect(report.forgetCount + report.retainCount).to.equal(256);
    expect(Object.keys(report.scores)).to.deep.equal(["original", "retrained", "unlearned"]);
    for (const m of Object.values(report.scores)) {
      expect(m.test!.count).to.equal(64);
      expect(m.forget!.count).to.equal(report.forgetCount);
      for (const s of Object.values(m)) expect(s.accuracy).to.be.within(0, 1);
    }
    expect(readdirSync(out).sort()).to.deep.equal(["original", "report.json", "retrained", "unlearned"]);
    expect(JSON.parse(readFileSync(join(out, "report.json"), "utf8"))).to.deep.equal(report);

    const original = manifestOf(join(out, "original"));
    const retrained = manifestOf(join(out, "retrained"));
    const unlearned = manifestOf(join(out, "unlearned"));
    expect(original).to.deep.include({ kind: "train", method: "train" });
    expect(original.config.trainedOn).to.equal("train");
    expect(retrained.config.trainedOn).to.equal("retain");
    expect(retrained.forget!.idsSha256).to.equal(unlearned.forget!.idsSha256);
    expect(retrained.retain.count).to.equal(report.retainCount);
    expect(unlearned).to.deep.include({ kind: "unlearn", method: "stochastic", readsForget: false });
    expect(unlearned.input.sha256).to.equal(original.output.sha256);
    // unlearn's defaults, the cosine over the one 1-epoch cycle
    expect(unlearned.config).to.deep.include({
      epochs: [1],
      layers: [6],
      schedule: { kind: "cosine", lr: 0.01, tMax: 1 },
    });

    // a rerun reuses the finished runs (and scores them again)
    const again = await runCli(argv);
    expect(again.code, again.stderr).to.equal(0);
    for (const name of ["original", "retrained", "unlearned"])
      expect(manifestOf(join(out, name)).finished).to.equal({ original, retrained, unlearned }[name]!.finished);
    expect(JSON.parse(again.stdout).scores).to.deep.equal(report.scores);
  });
});
