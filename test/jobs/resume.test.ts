/**
 * Resume and interruption across processes (CPU, one thread): `unlearn` and `train` killed with SIGKILL after a
 * checkpoint, or stopped with SIGINT / SIGTERM, continue from their checkpoint when run again and end with the
 * model.onnx bytes of a run made in one go; a checkpoint of another request is refused; bad option values and
 * non-finite numbers are one line and exit 2.
 */
import { expect } from "chai";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { withWeights } from "../../src/interop/with-weights.js";
import { readSafetensors, writeSafetensors } from "../../src/io/safetensors.js";
import { loadModel, readInitializers, saveModel } from "../../src/onnx/model-io.js";
import { readManifest, type RunManifest } from "../../src/runs/index.js";
import { tempDir } from "../data/make-data.js";
import { runCli } from "../helpers/run-cli.js";
import { eventsOf, spawnCli } from "../helpers/spawn-cli.js";
import { FMNIST_MODEL, npyData, stableManifest } from "../helpers/tiny-job.js";

describe("jobs: resume after SIGKILL, SIGINT and SIGTERM", function () {
  this.timeout(300000);
  let tmp: ReturnType<typeof tempDir>;
  let data: string;
  before(() => {
    tmp = tempDir("resume");
    data = npyData(tmp.dir, 64);
  });
  after(() => tmp.remove());

  const unlearnArgs = (out: string, ...more: string[]) => [
    "unlearn",
    FMNIST_MODEL,
    "--data",
    data,
    "--forget",
    "random:8",
    "--epochs",
    "1,1,1",
    "--layers",
    "2",
    "--batch",
    "8",
    "--max-steps",
    "4",
    "--threads",
    "1",
    "--seed",
    "3",
    "--json-lines",
    "--out",
    out,
    ...more,
  ];
  const trainArgs = (out: string, ...more: string[]) => [
    "train",
    "--model",
    "zoo:resnet18w8:width=2",
    "--data",
    data,
    "--epochs",
    "3",
    "--batch",
    "8",
    "--max-steps",
    "4",
    "--threads",
    "1",
    "--seed",
    "5",
    "--json-lines",
    "--out",
    out,
    ...more,
  ];

  const model = (dir: string) => readFileSync(join(dir, "model.onnx"));
  /** The manifest without times, machine, and what a resumption adds. */
  const stable = (dir: string) => {
    const { resumed: _r, notes: _n, ...m } = readManifest(dir)!;
    return stableManifest(m as unknown as Record<string, unknown>);
  };
  const temps = (dir: string) => readdirSync(dir).filter((e) => e.endsWith(".tmp"));

  async function cli(argv: string[]) {
    const r = await runCli(argv);
    expect(r.code, r.stderr).to.equal(0);
    return eventsOf(r.stdout);
  }

  /** Runs the CLI in a child process and sends it `signal` at the `nth` event named `at`. */
  async function interrupted(argv: string[], at: string, nth: number, signal: NodeJS.Signals) {
    let seen = 0;
    return spawnCli(argv, {
      onEvent: (e, child) => {
        if (e.event === at && ++seen === nth) child.kill(signal);
      },
    }).done;
  }

  for (const [job, args] of [
    ["unlearn", unlearnArgs],
    ["train", trainArgs],
  ] as const) {
    it(`${job}: killed (SIGKILL) after a checkpoint, the rerun continues from it and ends with the same bytes`, async () => {
      const whole = join(tmp.dir, `${job}-whole`);
      await cli(args(whole));
      const killed = join(tmp.dir, `${job}-killed`);
      // the 5th of 12 steps: in the second epoch
      const r = await interrupted(args(killed, "--checkpoint-every", "1"), "checkpoint", 5, "SIGKILL");
      expect(r.signal).to.equal("SIGKILL");
      expect(readManifest(killed)).to.equal(undefined);
      expect(existsSync(join(killed, "checkpoint.safetensors"))).to.equal(true);

      const events = await cli(args(killed, "--checkpoint-every", "1"));
      const resume = events.find((e) => e.event === "resume")!;
      expect(resume).to.deep.include({ run: 0, dir: killed, checkpoint: join(killed, "checkpoint.safetensors") });
      const resumedAt = 4 * (resume.epoch as number) + (resume.step as number);
      expect(resumedAt).to.be.within(5, 11);
      expect(model(killed).equals(model(whole))).to.equal(true);
      expect(stable(killed)).to.deep.equal(stable(whole));
      expect(readManifest(killed)!.resumed).to.deep.equal([
        { epoch: resume.epoch, step: resume.step, stepCount: resumedAt },
      ]);
      expect(readManifest(whole)!.resumed).to.equal(undefined);
      // only the steps after the checkpoint were trained again
      expect(events.filter((e) => e.event === "checkpoint")).to.have.length(12 - resumedAt);
      expect(readdirSync(killed).sort()).to.deep.equal(["manifest.json", "model.onnx"]);
    });
  }

  it("unlearn: Ctrl-C (SIGINT) stops after the step with a checkpoint, exit 130 and one line; --resume finishes it", async () => {
    const out = join(tmp.dir, "sigint");
    const r = await interrupted(unlearnArgs(out), "epoch", 1, "SIGINT");
    expect(r.code, r.stderr).to.equal(130);
    const checkpoint = join(out, "checkpoint.safetensors");
    const line = r.stderr.split("\n");
    expect(line, r.stderr).to.have.length(2); // one line and its newline
    expect(line[0]).to.match(
      new RegExp(
        `^onnx-unlearn: SIGINT: stopped before step \\d of cycle \\d, epoch \\d of run 0; checkpoint ${checkpoint}; ` +
          `run the same command again to resume: onnx-unlearn unlearn ${FMNIST_MODEL} --data ${data} .* --out ${out}$`,
      ),
    );
    // the checkpoint, and nothing else: no claim (released), no temporary file, no model
    expect(readdirSync(out)).to.deep.equal(["checkpoint.safetensors"]);
    expect(eventsOf(r.stdout).filter((e) => e.event === "checkpoint")).to.have.length(1);

    const events = await cli(unlearnArgs(out, "--resume"));
    expect(events.filter((e) => e.event === "resume")).to.have.length(1);
    expect(events.filter((e) => e.event === "reinit").length).to.be.below(3); // cycles begun before are not redone
    expect(model(out).equals(model(join(tmp.dir, "unlearn-whole")))).to.equal(true);
    expect(stable(out)).to.deep.equal(stable(join(tmp.dir, "unlearn-whole")));
    expect(readdirSync(out).sort()).to.deep.equal(["manifest.json", "model.onnx"]);
  });

  it("train: SIGTERM exits 143 with a checkpoint; one of another request or damaged is refused; --no-resume starts over", async () => {
    const out = join(tmp.dir, "sigterm");
    const r = await interrupted(trainArgs(out), "epoch", 1, "SIGTERM");
    expect(r.code, r.stderr).to.equal(143);
    expect(r.stderr).to.match(/^onnx-unlearn: SIGTERM: stopped before step \d of epoch \d of run 0; checkpoint /);
    expect(readdirSync(out)).to.deep.equal(["checkpoint.safetensors"]);

    // the same folder, another seed: the checkpoint is not this run's
    const other = await runCli(trainArgs(out, "--seed", "6"));
    expect(other.code).to.equal(2);
    expect(other.stderr).to.equal(
      `onnx-unlearn: ${join(out, "checkpoint.safetensors")}: is the checkpoint of another request: it was made with another seed; pass --no-resume to start this run over, or use another --out\n`,
    );
    expect(readdirSync(out)).to.deep.equal(["checkpoint.safetensors"]);

    // a checkpoint whose position is damaged is refused by name, not followed
    const path = join(out, "checkpoint.safetensors");
    const { tensors, metadata } = readSafetensors(path);
    const record = JSON.parse(metadata.run!) as { snapshot: { position: { step: number } } };
    record.snapshot.position.step = -1;
    writeSafetensors(path, tensors, { ...metadata, run: JSON.stringify(record) });
    const damaged = await runCli(trainArgs(out));
    expect(damaged.code).to.equal(2);
    expect(damaged.stderr).to.equal(
      `onnx-unlearn: ${path}: is a damaged run checkpoint (position.step is -1, expected a whole number >= 0); pass --no-resume to start the run over\n`,
    );

    const fresh = await cli(trainArgs(out, "--no-resume"));
    expect(fresh.filter((e) => e.event === "resume")).to.deep.equal([]);
    expect(model(out).equals(model(join(tmp.dir, "train-whole")))).to.equal(true);
    expect(readManifest(out)!.resumed).to.equal(undefined);
    expect(temps(out)).to.deep.equal([]);
  });

  describe("bad input: one line, exit 2, nothing made", () => {
    for (const [value, why] of [
      ["0", "--checkpoint-every expects an integer >= 1, got '0'"],
      ["-1", "--checkpoint-every expects an integer >= 1, got '-1'"],
      ["x", "--checkpoint-every expects a number, got 'x'"],
      ["2.5", "--checkpoint-every expects an integer >= 1, got '2.5'"],
    ]) {
      it(`--checkpoint-every ${value}`, async () => {
        for (const args of [unlearnArgs, trainArgs]) {
          const out = join(tmp.dir, `bad-${value}`);
          const r = await runCli(args(out, "--checkpoint-every", value));
          expect(r.code).to.equal(2);
          expect(r.stderr).to.equal(`onnx-unlearn: ${why}\n`);
          expect(existsSync(out)).to.equal(false);
        }
      });
    }

    it("--on-nan other than stop or skip", async () => {
      const r = await runCli(trainArgs(join(tmp.dir, "bad-nan"), "--on-nan", "ignore"));
      expect(r.code).to.equal(2);
      expect(r.stderr).to.equal("onnx-unlearn: --on-nan expects one of stop, skip, got 'ignore'\n");
      expect(existsSync(join(tmp.dir, "bad-nan"))).to.equal(false);
    });

    it("the library refuses the same values before any work", async () => {
      const { train } = await import("../../src/index.js");
      for (const checkpointEvery of [0, -1, 1.5, NaN]) {
        const err = await train({ model: "zoo:resnet18w8", data, out: join(tmp.dir, "lib"), checkpointEvery }).catch(
          (e: Error) => e,
        );
        expect((err as Error).message).to.equal(
          `--checkpoint-every expects a whole number of steps >= 1, got ${checkpointEvery}`,
        );
      }
      expect(existsSync(join(tmp.dir, "lib"))).to.equal(false);
    });
  });

  describe("--on-nan", () => {
    // a peak rate of 1e30: the first update is finite but huge, the next loss NaN
    const overflow = (out: string, ...more: string[]) => [...trainArgs(out), "--epochs", "2", "--lr", "1e30", ...more];

    it("stop (the default): one line naming the step and the epoch, exit 2, no run folder", async () => {
      const out = join(tmp.dir, "nan-stop");
      const r = await runCli(overflow(out));
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(
        /^onnx-unlearn: the (loss is NaN|loss is -?Infinity|update makes '[^']+' -?Infinity|update makes '[^']+' NaN)[^\n]* at step \d of epoch \d \(lr [^)]+\); stopped: lower the learning rate, check the inputs, or skip such batches \(--on-nan skip\)\n$/,
      );
      expect(existsSync(out)).to.equal(false);
    });

    it("unlearn refuses a model whose weights hold NaN before any work, naming the tensor", async () => {
      const m = loadModel(FMNIST_MODEL);
      const fc = readInitializers(m).get("fc.weight")!;
      (fc.data as Float32Array)[3] = NaN;
      const bad = join(tmp.dir, "nan.onnx");
      saveModel(withWeights(m, new Map([["fc.weight", fc]])), bad);
      const out = join(tmp.dir, "nan-weights");
      const r = await runCli(unlearnArgs(out).map((a) => (a === FMNIST_MODEL ? bad : a)));
      expect(r.code).to.equal(2);
      expect(r.stderr).to.equal(
        "onnx-unlearn: nan.onnx: 'fc.weight' holds NaN (element 3 of 640): the weights must be finite numbers\n",
      );
      expect(eventsOf(r.stdout).map((e) => e.event)).to.not.include("start");
      expect(existsSync(out)).to.equal(false);
    });

    it("skip: the batches are skipped and counted in the manifest and a note", async () => {
      const out = join(tmp.dir, "nan-skip");
      const events = await cli(overflow(out, "--on-nan", "skip"));
      const m = readManifest(out) as RunManifest;
      const skipped = m.epochs.map((e) => e.skipped ?? 0);
      const total = skipped.reduce((a, b) => a + b, 0);
      expect(total).to.be.within(1, 8);
      expect(m.config.onNan).to.equal("skip");
      const note = `--on-nan skip: ${total} batch(es) skipped for a non-finite loss, update or input (`;
      expect(m.notes!.some((n) => n.startsWith(note))).to.equal(true);
      expect(events.some((e) => e.event === "note" && (e.message as string).startsWith(note))).to.equal(true);
      // an epoch with every batch skipped has no mean loss (NaN, null in JSON)
      for (const e of m.epochs) if (e.skipped === 4) expect(e.meanLoss).to.equal(null);
    });
  });
});
