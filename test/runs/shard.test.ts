import { expect } from "chai";
import { UserError } from "../../src/errors.js";
import { ALL_RUNS, parseShard, shardRuns } from "../../src/runs/shard.js";

describe("runs/shard", () => {
  it("i/n is 1-based and takes runs i-1, i-1+n, ...; the shards of n cover every run once", () => {
    expect(parseShard(undefined)).to.deep.equal(ALL_RUNS);
    expect(parseShard("1/2")).to.deep.equal({ index: 0, count: 2 });
    expect(parseShard(" 2/2 ")).to.deep.equal({ index: 1, count: 2 });
    expect(shardRuns(4, parseShard("1/2"))).to.deep.equal([0, 2]);
    expect(shardRuns(4, parseShard("2/2"))).to.deep.equal([1, 3]);
    expect(shardRuns(5, parseShard("3/3"))).to.deep.equal([2]);
    for (const [total, n] of [
      [7, 3],
      [4, 4],
      [10, 1],
      [3, 5],
    ] as const) {
      const all = Array.from({ length: n }, (_, i) => shardRuns(total, { index: i, count: n })).flat();
      expect(all.sort((a, b) => a - b)).to.deep.equal(Array.from({ length: total }, (_, r) => r));
    }
  });

  it("bad --shard values are user errors naming the flag", () => {
    for (const [text, message] of [
      ["3/2", /--shard 3\/2 is out of range: expected 1 <= i <= n/],
      ["0/2", /--shard 0\/2 is out of range/],
      ["1/0", /--shard 1\/0 is out of range/],
      ["2", /--shard expects <i>\/<n>.*got '2'/],
      ["a/b", /--shard expects/],
      ["-1/2", /--shard expects/],
      ["1.5/2", /--shard expects/],
    ] as const) {
      expect(() => parseShard(text, {}), text).to.throw(UserError, message);
    }
  });

  describe("auto", () => {
    it("reads a Kubernetes Indexed Job: JOB_COMPLETION_INDEX (0-based) and SHARD_COUNT", () => {
      expect(parseShard("auto", { JOB_COMPLETION_INDEX: "0", SHARD_COUNT: "3" })).to.deep.equal({
        index: 0,
        count: 3,
      });
      expect(parseShard("auto", { JOB_COMPLETION_INDEX: "2", SHARD_COUNT: "3" })).to.deep.equal({
        index: 2,
        count: 3,
      });
    });

    it("reads a Slurm array: SLURM_ARRAY_TASK_ID relative to SLURM_ARRAY_TASK_MIN, SLURM_ARRAY_TASK_COUNT", () => {
      expect(parseShard("auto", { SLURM_ARRAY_TASK_ID: "1", SLURM_ARRAY_TASK_COUNT: "4" })).to.deep.equal({
        index: 1,
        count: 4,
      });
      // --array=1-4: ids 1..4, min 1
      expect(
        parseShard("auto", { SLURM_ARRAY_TASK_ID: "4", SLURM_ARRAY_TASK_COUNT: "4", SLURM_ARRAY_TASK_MIN: "1" }),
      ).to.deep.equal({ index: 3, count: 4 });
    });

    it("prefers the Kubernetes index when both are set", () => {
      const env = {
        JOB_COMPLETION_INDEX: "1",
        SHARD_COUNT: "2",
        SLURM_ARRAY_TASK_ID: "0",
        SLURM_ARRAY_TASK_COUNT: "5",
      };
      expect(parseShard("auto", env)).to.deep.equal({ index: 1, count: 2 });
    });

    it("names what is missing or out of range", () => {
      const cases: [NodeJS.ProcessEnv, RegExp][] = [
        [{}, /neither JOB_COMPLETION_INDEX .* nor SLURM_ARRAY_TASK_ID/],
        [{ JOB_COMPLETION_INDEX: "0" }, /SHARD_COUNT is not/],
        [{ JOB_COMPLETION_INDEX: "3", SHARD_COUNT: "3" }, /JOB_COMPLETION_INDEX=3 is out of range for SHARD_COUNT=3/],
        [{ JOB_COMPLETION_INDEX: "x", SHARD_COUNT: "3" }, /JOB_COMPLETION_INDEX=x is not a whole number/],
        [{ SLURM_ARRAY_TASK_ID: "2" }, /SLURM_ARRAY_TASK_COUNT is not/],
        [{ SLURM_ARRAY_TASK_ID: "2", SLURM_ARRAY_TASK_COUNT: "2" }, /SLURM_ARRAY_TASK_ID=2 is out of range for 2/],
        [
          { SLURM_ARRAY_TASK_ID: "0", SLURM_ARRAY_TASK_COUNT: "2", SLURM_ARRAY_TASK_MIN: "1" },
          /SLURM_ARRAY_TASK_ID=0 is out of range/,
        ],
      ];
      for (const [env, message] of cases)
        expect(() => parseShard("auto", env), JSON.stringify(env)).to.throw(UserError, message);
    });

    it("reads process.env by default", () => {
      const keys = ["JOB_COMPLETION_INDEX", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN"];
      const saved = keys.map((k) => process.env[k]);
      try {
        for (const k of keys) delete process.env[k];
        process.env.SLURM_ARRAY_TASK_ID = "0";
        process.env.SLURM_ARRAY_TASK_COUNT = "2";
        expect(parseShard("auto")).to.deep.equal({ index: 0, count: 2 });
      } finally {
        keys.forEach((k, i) => {
          if (saved[i] === undefined) delete process.env[k];
          else process.env[k] = saved[i];
        });
      }
    });
  });
});
