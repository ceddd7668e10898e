/**
 * Plain supervised training with cross-entropy: how the demo trains its original model, and the
 * "fine-tune on the retain set" baseline of the challenge.
 */
import { trainingBatches, type Examples, type Normalisation, type Seed } from "../data/index.js";
import type { ModelFile } from "../onnx/model-io.js";
import { startOf, type TrainingControl } from "./control.js";
import { openTrainingSession, stepsPerEpoch, trainEpoch } from "./epoch.js";
import {
  type ExecutionProvider,
  type TrainingSession,
  trainingLoopOptions,
  type TrainingLoopOptions,
} from "./session/index.js";

export interface FitOptions extends TrainingLoopOptions {
  model: ModelFile;
  data: Examples;
  normalisation?: Normalisation;
  /** Default 2. */
  epochs?: number;
  /** Peak learning rate, cosine-annealed to 0 over the whole run. Default 0.05. */
  lr?: number;
  /** Default 64. */
  batchSize?: number;
  momentum?: number;
  weightDecay?: number;
  seed?: Seed;
  executionProvider?: ExecutionProvider;
  intraOpThreads?: number;
  /** Stop each epoch after this many steps. Default: the whole set. */
  maxStepsPerEpoch?: number;
  onEpoch?: (e: { epoch: number; meanLoss: number; seconds: number; images: number }) => void;
  /** Called after every epoch with the session (e.g. to score a validation split); awaited. */
  afterEpoch?: (session: TrainingSession, epoch: number) => Promise<void>;
  onStep?: (e: { epoch: number; step: number; steps: number; loss: number; lr: number }) => void;
  /** Stop signal, checkpoints, NaN policy, a checkpoint to continue from (control.ts). */
  control?: TrainingControl;
}

/** Trains and returns the session holding the trained weights (release() it when done). */
export async function fitClassifier(o: FitOptions): Promise<TrainingSession> {
  const session = await openTrainingSession(o.model, {
    loss: "ce",
    momentum: o.momentum,
    weightDecay: o.weightDecay,
    executionProvider: o.executionProvider,
    intraOpThreads: o.intraOpThreads,
    ...trainingLoopOptions(o),
  });
  const epochs = o.epochs ?? 2;
  const batchSize = o.batchSize ?? 64;
  const steps = stepsPerEpoch(o.data.count, batchSize, o.maxStepsPerEpoch);
  const peak = o.lr ?? 0.05;
  const start = startOf(o.control);
  try {
    o.control?.resume?.restore(session);
    for (let epoch = start.epoch; epoch < epochs; epoch++) {
      const batches = trainingBatches(o.data, {
        batchSize,
        seed: o.seed ?? 0,
        epoch,
        noiseSigma: 0,
        normalisation: o.normalisation,
        dropLast: true,
      });
      const lr = (step: number) => (peak * (1 + Math.cos((Math.PI * (epoch * steps + step)) / (epochs * steps)))) / 2;
      const onStep = (step: number, loss: number, rate: number) => o.onStep?.({ epoch, step, steps, loss, lr: rate });
      const stats = await trainEpoch(session, batches, {
        steps,
        lr,
        labels: true,
        onStep,
        where: `epoch ${epoch + 1}`,
        epoch,
        control: o.control,
      });
      o.onEpoch?.({ epoch, ...stats });
      await o.afterEpoch?.(session, epoch);
    }
  } catch (e) {
    await session.release();
    throw e;
  }
  return session;
}
