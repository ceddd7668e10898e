/**
 * Runs and shards across processes: `--shard 1/2` and `--shard 2/2` side by side make the same four runs as
 * `--runs 4` in one process; a run killed midway is redone and finished ones are skipped.
 */
import { expect } from "chai";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { readManifest } from "../../src/runs/index.js";
import { tempDir } from "../data/make-data.js";
import { eventsOf, spawnCli } from "../helpers/spawn-cli.js";
import { FMNIST_MODEL, npyData, stableManifest } from "../helpers/tiny-job.js";

const RUNS = ["run-000", "run-001", "run-002", "run-003"];

describe("jobs: runs and shards in separate processes", function () {
  this.timeout(240000);
  let tmp: ReturnType<typeof tempDir>;
  let args: (out: string, ...more: string[]) => string[];
  before(() => {
    tmp = tempDir("shards");
    const data = npyData(tmp.dir, 64);
    args = (out, ...more) => [
      "unlearn",
      FMNIST_MODEL,
      "--data",
      data,
      "--forget",
      "random:8",
      "--epochs",
      "1,1",
      "--layers",
      "2",
      "--batch",
      "8",
      "--max-steps",
      "1",
      "--threads",
      "1",
      "--seed",
      "10",
      "--json-lines",
      "--out",
      out,
      ...more,
    ];
  });
  after(() => tmp.remove());

  const model = (dir: string) => readFileSync(join(dir, "model.onnx"));

  async function cli(argv: string[], env?: NodeJS.ProcessEnv) {
    const r = await spawnCli(argv, { env }).done;
    expect(r.code, r.stderr).to.equal(0);
    return eventsOf(r.stdout);
  }

  it("--shard 1/2 and 2/2 in two processes give the same four runs as --runs 4 in one", async () => {
    const sharded = join(tmp.dir, "sharded");
    const whole = join(tmp.dir, "whole");
    const [one, two] = await Promise.all([
      cli(args(sharded, "--runs", "4", "--shard", "1/2")),
      cli(args(sharded, "--runs", "4", "--shard", "2/2")),
    ]);
    expect(one[0]).to.deep.include({ event: "start", runs: [0, 2], of: 4 });
    expect(two[0]).to.deep.include({ event: "start", runs: [1, 3], of: 4 });
    expect(one.filter((e) => e.event === "run-done").map((e) => e.run)).to.deep.equal([0, 2]);
    expect(two.filter((e) => e.event === "run-done").map((e) => e.run)).to.deep.equal([1, 3]);
    await cli(args(whole, "--runs", "4"));
    expect(readdirSync(sharded).sort()).to.deep.equal(RUNS);
    expect(readdirSync(whole).sort()).to.deep.equal(RUNS);
    for (const r of RUNS) {
      expect(model(join(sharded, r)).equals(model(join(whole, r))), r).to.equal(true);
      expect(stableManifest(readManifest(join(sharded, r)) as never)).to.deep.equal(
        stableManifest(readManifest(join(whole, r)) as never),
      );
      expect(readManifest(join(whole, r))!.run.seed).to.equal(10 + RUNS.indexOf(r));
    }
    // four different models
    expect(new Set(RUNS.map((r) => readManifest(join(whole, r))!.output.sha256)).size).to.equal(4);
  });

  it("--shard auto takes the shard from a Kubernetes Indexed Job or a Slurm array", async () => {
    const auto = join(tmp.dir, "auto");
    const k8s = await cli(args(auto, "--runs", "4", "--shard", "auto"), {
      JOB_COMPLETION_INDEX: "1",
      SHARD_COUNT: "2",
    });
    expect(k8s[0]).to.deep.include({ event: "start", runs: [1, 3] });
    const slurm = await cli(args(auto, "--runs", "4", "--shard", "auto"), {
      JOB_COMPLETION_INDEX: "",
      SLURM_ARRAY_TASK_ID: "0",
      SLURM_ARRAY_TASK_COUNT: "2",
    });
    expect(slurm[0]).to.deep.include({ event: "start", runs: [0, 2] });
    for (const r of RUNS) expect(model(join(auto, r)).equals(model(join(tmp.dir, "whole", r))), r).to.equal(true);
  });

  it("a run whose manifest is gone is redone; finished runs are skipped", async () => {
    const whole = join(tmp.dir, "whole");
    const before = model(join(whole, "run-002"));
    rmSync(join(whole, "run-002", "manifest.json"));
    const events = await cli(args(whole, "--runs", "4"));
    const skips = events.filter((e) => e.event === "skip");
    expect(skips.map((e) => e.run)).to.deep.equal([0, 1, 3]);
    for (const s of skips) expect(s.reason).to.equal("finished before (same request)");
    expect(events.filter((e) => e.event === "run-done").map((e) => e.run)).to.deep.equal([2]);
    expect(events.at(-1)).to.deep.include({ event: "done", made: 1, skipped: 3 });
    expect(model(join(whole, "run-002")).equals(before)).to.equal(true);
  });

  it("a process killed midway (SIGKILL) leaves its run incomplete; the rerun redoes it and skips the finished one", async () => {
    const killed = join(tmp.dir, "killed");
    const { done } = spawnCli(args(killed, "--runs", "2", "--epochs", "1,1,1,1"), {
      // run 1 has started (its first layers are re-initialised): kill before it can finish
      onEvent: (e, child) => {
        if (e.event === "reinit" && e.run === 1) child.kill("SIGKILL");
      },
    });
    const r = await done;
    expect(r.signal).to.equal("SIGKILL");
    expect(readManifest(join(killed, "run-000"))).to.not.equal(undefined);
    expect(existsSync(join(killed, "run-001"))).to.equal(true);
    expect(readManifest(join(killed, "run-001"))).to.equal(undefined);
    expect(existsSync(join(killed, "run-001", "claim"))).to.equal(true); // left by the dead process

    const events = await cli(args(killed, "--runs", "2", "--epochs", "1,1,1,1"));
    expect(events.filter((e) => e.event === "skip").map((e) => e.run)).to.deep.equal([0]);
    expect(events.filter((e) => e.event === "run-done").map((e) => e.run)).to.deep.equal([1]);
    expect(readdirSync(join(killed, "run-001")).sort()).to.deep.equal(["manifest.json", "model.onnx"]);
    // the redone run is the run a clean process makes
    const clean = join(tmp.dir, "clean");
    await cli(args(clean, "--runs", "2", "--epochs", "1,1,1,1", "--shard", "2/2"));
    expect(model(join(killed, "run-001")).equals(model(join(clean, "run-001")))).to.equal(true);
  });
});
