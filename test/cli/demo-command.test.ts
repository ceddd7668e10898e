import { expect } from "chai";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../helpers/run-cli.js";

describe("cli/demo", function () {
  this.timeout(300000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "demo-cli-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("trains, retrains, unlearns and scores the three models on Fashion-MNIST (a small run)", async () => {
    const r = await runCli([
      "demo",
      "--out",
      dir,
      "--train-size",
      "256",
      "--epochs",
      "1",
      "--unlearn-epochs",
      "1",
      "--eval-limit",
      "64",
      "--threads",
      "2",
      "--json",
    ]);
    expect(r.code, r.stderr).to.equal(0);
    const report = JSON.parse(r.stdout) as {
      trainSize: number;
      forgetCount: number;
      retainCount: number;
      scores: Record<string, Record<string, { count: number; accuracy: number }>>;
    };
    expect(report.trainSize).to.equal(256);
    expect(report.forgetCount + report.retainCount).to.equal(256);
    expect(Object.keys(report.scores)).to.deep.equal(["original", "retrained", "unlearned"]);
    for (const m of Object.values(report.scores)) {
      expect(m.test!.count).to.equal(64);
      expect(m.forget!.count).to.equal(report.forgetCount);
      for (const s of Object.values(m)) expect(s.accuracy).to.be.within(0, 1);
    }
    for (const f of ["original.onnx", "retrained.onnx", "unlearned.onnx", "report.json"])
      expect(existsSync(join(dir, f)), f).to.equal(true);
    expect(JSON.parse(readFileSync(join(dir, "report.json"), "utf8"))).to.deep.equal(report);
  });
});
