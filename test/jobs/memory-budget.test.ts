/**
 * --memory-budget: every command that trains or scores estimates its peak memory before any work and refuses one
 * above the budget with one line (the estimate's terms and the budget), exit code 2, nothing written; a bad size
 * is refused the same way; a budget that fits lets the job run.
 */
import { expect } from "chai";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { unlearn } from "../../src/index.js";
import { tempDir } from "../data/make-data.js";
import { runCli } from "../helpers/run-cli.js";
import { eventsOf } from "../helpers/spawn-cli.js";
import { FMNIST_MODEL, npyData } from "../helpers/tiny-job.js";

describe("jobs: --memory-budget", function () {
  this.timeout(180000);
  let tmp: ReturnType<typeof tempDir>;
  let data: string;
  let run: string;
  before(async () => {
    tmp = tempDir("memory-budget");
    data = npyData(tmp.dir, 64);
    run = join(tmp.dir, "run");
    await unlearn({
      model: FMNIST_MODEL,
      data,
      forget: "random:8",
      config: { epochs: "1", layers: 1, batchSize: 8 },
      out: run,
      maxStepsPerEpoch: 1,
      intraOpThreads: 1,
    });
  });
  after(() => tmp.remove());

  const out = () => join(tmp.dir, "new-out");
  const quick = ["--batch", "8", "--max-steps", "1", "--threads", "1"];
  const commands: Record<string, () => string[]> = {
    train: () => [
      "train",
      "--model",
      "zoo:resnet18w8:width=2",
      "--data",
      data,
      "--epochs",
      "1",
      "--out",
      out(),
      ...quick,
    ],
    unlearn: () => ["unlearn", FMNIST_MODEL, "--data", data, "--forget", "random:8", "--out", out(), ...quick],
    eval: () => ["eval", run, "--data", data, "--forget", "random:8", "--threads", "1"],
    demo: () => ["demo", "--train-size", "200", "--epochs", "1", "--out", out(), "--threads", "1"],
    benchmark: () => ["benchmark", "--root", out(), "--runs", "2", "--stages", "original", "--threads", "1"],
  };

  for (const [name, args] of Object.entries(commands)) {
    it(`${name}: a budget below the estimate is refused before any work, nothing written`, async () => {
      const before = readdirSync(run).sort();
      const r = await runCli([...args(), "--memory-budget", "1MiB"]);
      expect(r.code, r.stderr).to.equal(2);
      const lines = r.stderr.trim().split("\n");
      expect(lines, r.stderr).to.have.length(1);
      expect(lines[0]).to.match(/^onnx-unlearn: estimated peak memory [\d.]+ MiB for [a-z (]+[a-z)]+: runtime /);
      expect(lines[0]).to.include("above the budget of 1.0 MiB (--memory-budget)");
      expect(existsSync(out()), "the output folder").to.equal(false);
      expect(readdirSync(run).sort(), "the run folder (no eval cache)").to.deep.equal(before);
    });
  }

  it("a size that is not one is refused in one line naming the option", async () => {
    for (const bad of ["lots", "-1GiB", "8 bytes"]) {
      const r = await runCli([...commands.train!(), "--memory-budget", bad]);
      expect(r.code).to.equal(2);
      expect(r.stderr.trim()).to.equal(
        `onnx-unlearn: --memory-budget expects a size such as 8GiB, 512MiB, 16GB or a number of bytes (units: KiB, MiB, GiB, TiB, Ki..Ti, kB, MB, GB, TB, k..T), got '${bad}'`,
      );
      expect(existsSync(out())).to.equal(false);
    }
  });

  it("a budget that fits lets the job run", async () => {
    const r = await runCli([...commands.train!(), "--memory-budget", "64GiB", "--json-lines"]);
    expect(r.code, r.stderr).to.equal(0);
    expect(eventsOf(r.stdout).map((e) => e.event)).to.deep.equal(["start", "epoch", "run-done", "done"]);
    expect(existsSync(join(out(), "model.onnx"))).to.equal(true);
  });
});
