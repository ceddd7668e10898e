/**
 * The training loop (src/training/epoch.ts) runs `stepsPerRun` steps per onnxruntime run: the same numbers as
 * one step per run, runs that end at checkpoints, and a run that meets a non-finite loss undone and stepped one
 * batch at a time, so the step is named and skipped as a single step would be.
 */
import { expect } from "chai";
import { trainingBatches, type MemoryExamples } from "../../src/data/index.js";
import { UserError } from "../../src/errors.js";
import { loadModel } from "../../src/onnx/model-io.js";
import type { Tensor } from "../../src/onnx/tensor.js";
import type { TrainingControl } from "../../src/training/control.js";
import { openTrainingSession, trainEpoch } from "../../src/training/epoch.js";
import type { TrainingSession } from "../../src/training/session/index.js";
import { randomExamples } from "../helpers/random-examples.js";

const FIXTURE = "test/fixtures/pytorch/resnet18w8_fmnist.ts-preserve.onnx";

/** `count` random 1x28x28 images, labels id % 10; every pixel of the image of `hugeId` (if any) is 3e38. */
const examples = (count: number, hugeId?: number) =>
  randomExamples(count, "epoch-fixture", (p) => {
    if (hugeId !== undefined) p.fill(3e38, hugeId * 784, (hugeId + 1) * 784);
  });

interface Outcome {
  /** Each onnxruntime run: "step" or "many K". */
  runs: string[];
  steps: [number, number, number][];
  stats: unknown;
  state: Map<string, Tensor>;
  checkpoints: { step: number; stepCount: number; state: Map<string, Tensor> }[];
  error?: unknown;
}

/** One epoch of 6 steps (48 examples, batch 8) on a fresh session with `stepsPerRun`. */
async function epoch(
  stepsPerRun: number,
  data: MemoryExamples,
  control: TrainingControl = {},
  prepare?: (session: TrainingSession) => void,
): Promise<Outcome> {
  const session = await openTrainingSession(loadModel(FIXTURE), { loss: "ce", intraOpThreads: 1, stepsPerRun });
  prepare?.(session);
  const runs = countRuns(session);
  const out: Omit<Outcome, "stats" | "state"> = { runs, steps: [], checkpoints: [] };
  try {
    const stats = await trainEpoch(
      session,
      trainingBatches(data, { batchSize: 8, seed: 1, epoch: 0, noiseSigma: 0, dropLast: true }),
      {
        steps: 6,
        lr: (step) => 0.01 * (step + 1),
        labels: true,
        onStep: (step, loss, lr) => out.steps.push([step, loss, lr]),
        control: {
          ...control,
          save: (s, snapshot) =>
            out.checkpoints.push({ step: snapshot.position.step, stepCount: s.stepCount, state: s.getState() }),
        },
      },
    ).catch((e: unknown) => ({ error: e }));
    return { ...out, stats, state: session.getState(), ...("error" in stats ? { error: stats.error } : {}) };
  } finally {
    await session.release();
  }
}

function countRuns(session: TrainingSession): string[] {
  const runs: string[] = [];
  const step = session.step.bind(session);
  const stepMany = session.stepMany.bind(session);
  session.step = (...a) => (runs.push("step"), step(...a));
  session.stepMany = (...a) => (runs.push(`many ${a[0].dims[0]}`), stepMany(...a));
  return runs;
}

const bytes = (state: Map<string, Tensor>) =>
  new Map([...state].map(([k, t]) => [k, Buffer.from((t.data as Float32Array).buffer).toString("base64")]));

describe("training/epoch: K steps per onnxruntime run", () => {
  it("runs stepsPerRun steps at a time to the numbers of one step per run; the last run takes what is left", async () => {
    const data = examples(48);
    const single = await epoch(1, data);
    const grouped = await epoch(4, data);
    expect(single.runs).to.deep.equal(Array(6).fill("step"));
    expect(grouped.runs).to.deep.equal(["many 4", "many 2"]);
    expect(grouped.steps).to.deep.equal(single.steps);
    expect(grouped.steps.map(([step, , lr]) => [step, lr])).to.deep.equal([1, 2, 3, 4, 5, 6].map((s) => [s, 0.01 * s]));
    expect(grouped.stats).to.deep.include({ images: 48, meanLoss: (single.stats as { meanLoss: number }).meanLoss });
    expect(bytes(grouped.state)).to.deep.equal(bytes(single.state));
  });

  it("a run ends at every checkpoint, so each checkpoint holds the state of its step", async () => {
    const data = examples(48);
    const single = await epoch(1, data, { checkpointEvery: 4 });
    const grouped = await epoch(8, data, { checkpointEvery: 4 });
    expect(grouped.runs).to.deep.equal(["many 4", "many 2"]);
    expect(grouped.checkpoints.map((c) => [c.step, c.stepCount])).to.deep.equal([[4, 4]]);
    expect(bytes(grouped.checkpoints[0]!.state)).to.deep.equal(bytes(single.checkpoints[0]!.state));
  });

  it("a run meeting a non-finite loss is undone and stepped one batch at a time: the same step skipped or named", async () => {
    const data = examples(48, 13);
    const single = await epoch(1, data, { onNan: "skip" });
    const grouped = await epoch(4, data, { onNan: "skip" });
    expect(single.stats).to.deep.include({ skipped: 1, images: 40 });
    const { seconds: _a, ...a } = grouped.stats as { seconds: number };
    const { seconds: _b, ...b } = single.stats as { seconds: number };
    expect(a).to.deep.equal(b);
    expect(grouped.steps).to.deep.equal(single.steps);
    expect(bytes(grouped.state)).to.deep.equal(bytes(single.state));
    // the run holding the bad batch was tried whole, then its batches one at a time
    const bad = [1, 2, 3, 4, 5, 6].find((s) => !single.steps.some(([step]) => step === s))!;
    expect(grouped.runs).to.deep.equal(
      bad <= 4 ? ["many 4", ...Array(4).fill("step"), "many 2"] : ["many 4", "many 2", "step", "step"],
    );

    const stopped = await epoch(4, data);
    expect(stopped.error).to.be.instanceOf(UserError);
    expect((stopped.error as Error).message).to.match(
      new RegExp(`^the loss is (NaN|-?Infinity) at step ${bad} of epoch 1 \\(lr `),
    );
    expect(stopped.steps.map(([step]) => step)).to.deep.equal(Array.from({ length: bad - 1 }, (_, i) => i + 1));
  });

  it("a K-step run that fails in onnxruntime is stepped one batch at a time, and the session runs single steps after, with one warning", async () => {
    const data = examples(48);
    const single = await epoch(1, data);
    const warnings: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => (warnings.push(String(chunk)), true)) as typeof process.stderr.write;
    let failed: Outcome;
    try {
      failed = await epoch(4, data, {}, (session) => {
        session.stepMany = () => Promise.reject(new Error("Loop: no kernel for this provider\nmore detail"));
      });
    } finally {
      process.stderr.write = write;
    }
    expect(failed.runs).to.deep.equal(["many 4", ...Array(6).fill("step")]);
    expect(warnings).to.deep.equal([
      "onnx-unlearn: warning: 4 steps in one onnxruntime run failed (Loop: no kernel for this provider); running one step per run\n",
    ]);
    expect(failed.steps).to.deep.equal(single.steps);
    expect(bytes(failed.state)).to.deep.equal(bytes(single.state));
  });
});
