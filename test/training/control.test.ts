/**
 * The training loop's control (src/training/control.ts): a run continued from a checkpoint taken after any step
 * ends with the same bytes as the run made in one go (stochastic cycles, plain training, NegGrad); an aborted
 * signal stops before the next step with a checkpoint and Interrupted; non-finite inputs, losses, updates and
 * weights are stopped naming step and tensor, or skipped with the state unchanged.
 */
import { expect } from "chai";
import { retainOnlyOf } from "../../src/data/index.js";
import { Interrupted, UserError } from "../../src/errors.js";
import { withWeights } from "../../src/interop/with-weights.js";
import { seededRandom } from "../../src/models/init.js";
import { loadModel, modelBytes } from "../../src/onnx/model-io.js";
import { float32, type Tensor } from "../../src/onnx/tensor.js";
import type { Snapshot, TrainingControl } from "../../src/training/control.js";
import { fitClassifier } from "../../src/training/fit.js";
import { TrainingSession } from "../../src/training/session/index.js";
import { resolveUnlearnConfig } from "../../src/unlearning/config.js";
import { negGrad } from "../../src/unlearning/neggrad.js";
import { stochasticUnlearning } from "../../src/unlearning/stochastic-unlearning.js";
import { randomExamples } from "../helpers/random-examples.js";
import { tinyArtifacts } from "../helpers/tiny-train-step.js";

const FIXTURE = "test/fixtures/pytorch/resnet18w8_fmnist.ts-preserve.onnx";

/** `count` random 1x28x28 images, labels id % 10; the image of `nanId` (if any) holds one NaN. */
const examples = (count: number, nanId?: number) =>
  randomExamples(count, "control-fixture", (p) => {
    if (nanId !== undefined) p[nanId * 784 + 100] = NaN;
  });

/** A checkpoint kept in memory: the session's state, its step count and the snapshot. */
interface Saved {
  state: Map<string, Tensor>;
  stepCount: number;
  snapshot: Snapshot;
}

const saving = (into: Saved[], extra: TrainingControl = {}): TrainingControl => ({
  checkpointEvery: 1,
  // through JSON, as a checkpoint file carries it
  save: (s, snapshot) =>
    into.push({ state: s.getState(), stepCount: s.stepCount, snapshot: JSON.parse(JSON.stringify(snapshot)) }),
  ...extra,
});

const resuming = (from: Saved): TrainingControl => ({
  resume: { snapshot: from.snapshot, restore: (s) => s.setState(from.state, from.stepCount) },
});

type Method = (control?: TrainingControl) => Promise<{ session: TrainingSession; record: unknown }>;

const METHODS: Record<string, Method> = {
  "stochastic cycles": async (control) => {
    const r = await stochasticUnlearning({
      model: loadModel(FIXTURE),
      retain: retainOnlyOf(examples(48)),
      config: { epochs: [1, 2], layers: 2, batchSize: 16 },
      intraOpThreads: 1,
      seed: 3,
      control,
    });
    return {
      session: r.session,
      record: r.cycles.map(({ cycle, draws, layers, epochs }) => ({
        cycle,
        draws,
        layers,
        epochs: epochs.map(({ seconds: _s, ...e }) => e),
      })),
    };
  },
  "plain training": async (control) => {
    const epochs: unknown[] = [];
    const session = await fitClassifier({
      model: loadModel(FIXTURE),
      data: examples(32),
      epochs: 2,
      batchSize: 16,
      lr: 0.05,
      intraOpThreads: 1,
      seed: 4,
      onEpoch: ({ seconds: _s, ...e }) => epochs.push(e),
      control,
    });
    return { session, record: epochs };
  },
  NegGrad: async (control) => {
    const r = await negGrad({
      model: loadModel(FIXTURE),
      forget: examples(32),
      config: resolveUnlearnConfig({ method: "neggrad", epochs: "2", batchSize: 16 }),
      intraOpThreads: 1,
      seed: 5,
      control,
    });
    return { session: r.session, record: r.epochs.map(({ seconds: _s, ...e }) => e) };
  },
};

async function bytesOf(made: { session: TrainingSession; record: unknown }) {
  try {
    return {
      bytes: Buffer.from(modelBytes(withWeights(loadModel(FIXTURE), made.session.getParameters()))),
      record: made.record,
    };
  } finally {
    await made.session.release();
  }
}

describe("training/control: checkpoints, resume, stop, non-finite numbers", function () {
  this.timeout(300000);

  for (const [name, method] of Object.entries(METHODS)) {
    it(`${name}: continued from a checkpoint after any step, the same bytes and records as in one go`, async () => {
      const saved: Saved[] = [];
      const whole = await bytesOf(await method(saving(saved)));
      const steps = name === "stochastic cycles" ? 9 : 4;
      expect(saved.map((s) => s.stepCount)).to.deep.equal(Array.from({ length: steps }, (_, i) => i + 1));
      // every step of the run: mid-epoch, the end of an epoch, the end of a cycle; the last one finishes at once
      for (const from of saved) {
        const again = await bytesOf(await method(resuming(from)));
        const at = JSON.stringify(from.snapshot.position);
        expect(again.bytes.equals(whole.bytes), `resumed at ${at}`).to.equal(true);
        // fitClassifier reports epochs as they end: those before the checkpoint are its caller's to keep
        const want =
          name === "plain training" ? (whole.record as unknown[]).slice(from.snapshot.position.epoch) : whole.record;
        expect(again.record, `resumed at ${at}`).to.deep.equal(want);
      }
    });
  }

  it("an aborted signal stops before the next step: a checkpoint there, then Interrupted naming the step", async () => {
    const saved: Saved[] = [];
    const controller = new AbortController();
    let steps = 0;
    const err = await fitClassifier({
      model: loadModel(FIXTURE),
      data: examples(32),
      epochs: 2,
      batchSize: 16,
      intraOpThreads: 1,
      stepsPerRun: 1,
      onStep: () => {
        if (++steps === 3) controller.abort("SIGINT");
      },
      control: { signal: controller.signal, save: (s, snapshot) => saving(saved).save!(s, snapshot) },
    }).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(Interrupted);
    expect((err as Interrupted).reason).to.equal("SIGINT");
    expect((err as Interrupted).message).to.equal("stopped before step 2 of epoch 2");
    expect(saved).to.have.length(1);
    expect(saved[0]!.stepCount).to.equal(3);
    expect(saved[0]!.snapshot.position).to.include({ epoch: 1, step: 1, skipped: 0, images: 16 });
  });

  it("with K steps per run, an aborted signal stops before the next run: the steps of the run in flight finish", async () => {
    const saved: Saved[] = [];
    const controller = new AbortController();
    const seen: number[] = [];
    const err = await fitClassifier({
      model: loadModel(FIXTURE),
      data: examples(48),
      epochs: 2,
      batchSize: 8,
      intraOpThreads: 1,
      stepsPerRun: 4,
      onStep: ({ epoch, step }) => {
        seen.push(epoch * 6 + step);
        if (seen.length === 2) controller.abort("SIGINT");
      },
      control: { signal: controller.signal, save: (s, snapshot) => saving(saved).save!(s, snapshot) },
    }).catch((e: unknown) => e);
    // six steps an epoch, run as 4 + 2: the abort at step 2 lets steps 3 and 4 (the same run) finish
    expect(err).to.be.instanceOf(Interrupted);
    expect((err as Interrupted).message).to.equal("stopped before step 5 of epoch 1");
    expect(seen).to.deep.equal([1, 2, 3, 4]);
    expect(saved.map((s) => [s.stepCount, s.snapshot.position.step])).to.deep.equal([[4, 4]]);
  });

  describe("non-finite numbers", () => {
    it("a batch holding NaN: stop names the step, the epoch and the example; skip leaves the state and counts it", async () => {
      const run = (control: TrainingControl) =>
        fitClassifier({
          model: loadModel(FIXTURE),
          data: examples(32, 7),
          epochs: 1,
          batchSize: 8,
          intraOpThreads: 1,
          control,
        });
      const err = await run({}).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(UserError);
      expect((err as Error).message).to.match(
        /^the batch holds NaN \(image of example id 7\) at step \d of epoch 1 \(lr [\d.e+-]+\); stopped: .*--on-nan skip/,
      );
      const epochs: { skipped?: number; images: number }[] = [];
      const session = await fitClassifier({
        model: loadModel(FIXTURE),
        data: examples(32, 7),
        epochs: 1,
        batchSize: 8,
        intraOpThreads: 1,
        onEpoch: (e) => epochs.push(e),
        control: { onNan: "skip" },
      });
      try {
        expect(epochs).to.have.length(1);
        expect(epochs[0]).to.include({ skipped: 1, images: 24 });
        expect(session.stepCount).to.equal(3); // the skipped batch was not applied
      } finally {
        await session.release();
      }
    });

    it("a step whose loss or update is not finite is refused, or with nonFinite skip reported, the state unchanged", async () => {
      const session = await TrainingSession.create(tinyArtifacts(seededRandom(5)));
      const x = float32([2, 1, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
      const t = float32([2, 3], [0, 1, 0, 1, 0, 0]);
      const before = session.getState();
      // the loss of the first step is finite (the weights are still small): the update overflows float32
      const r = await session.step(x, t, 3e38, { nonFinite: "skip" });
      expect(r.skipped).to.match(/^the update makes '(W|b)' -?Infinity \(element \d+ of \d+\)$/);
      expect(session.stepCount).to.equal(0);
      for (const [k, v] of session.getState()) expect(v.data).to.deep.equal(before.get(k)!.data);
      const err = await session.step(x, t, 3e38).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(UserError);
      expect((err as Error).message).to.match(/^the update makes '(W|b)' -?Infinity .* at step 1; stopped, the state/);
      await session.release();
    });

    it("weights holding NaN or an infinity are refused at load and when set, naming the tensor", async () => {
      const artifacts = tinyArtifacts(seededRandom(6));
      const w = artifacts.initialState.get("W")!;
      const bad = { ...w, data: Float32Array.from(w.data as Float32Array, (v, i) => (i === 5 ? Infinity : v)) };
      const err = await TrainingSession.create({
        ...artifacts,
        manifest: { ...artifacts.manifest, source: { ...artifacts.manifest.source, file: "bad.onnx" } },
        initialState: new Map([...artifacts.initialState, ["W", bad]]),
      }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(UserError);
      expect((err as Error).message).to.equal(
        "bad.onnx: 'W' holds Infinity (element 5 of 12): the weights must be finite numbers",
      );
      const session = await TrainingSession.create(artifacts);
      const nan = { ...w, data: new Float32Array(12).fill(NaN) };
      expect(() => session.setParameters(new Map([["W", nan]]), "import")).to.throw(
        UserError,
        /^import: 'W' holds NaN \(element 0 of 12\): state values must be finite numbers$/,
      );
      await session.release();
    });
  });
});
