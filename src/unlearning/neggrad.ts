/**
 * NegGrad, the baseline that reads the forget set: gradient ascent on its cross-entropy (SGD with the rate's sign
 * flipped; weight decay 0 by default, since decay under a flipped sign would grow the weights).
 */
import { trainingBatches, type Examples, type Normalisation } from "../data/index.js";
import type { Seed } from "../data/random.js";
import { UserError } from "../errors.js";
import { layerInventory } from "../onnx/layers.js";
import { displayName, type ModelFile } from "../onnx/model-io.js";
import { startOf, type TrainingControl } from "../training/control.js";
import { openTrainingSession, stepsPerEpoch, trainEpoch, type EpochStats } from "../training/epoch.js";
import {
  type ExecutionProvider,
  type TrainingSession,
  trainingLoopOptions,
  type TrainingLoopOptions,
} from "../training/session/index.js";
import type { UnlearnConfig } from "./config.js";
import { learningRate } from "./schedule.js";
import { checkRetainFitsModel } from "./stochastic-unlearning.js";

export interface NegGradOptions extends TrainingLoopOptions {
  model: ModelFile;
  /** The forget set: the examples whose loss is ascended. */
  forget: Examples;
  normalisation?: Normalisation;
  config: UnlearnConfig;
  seed?: Seed;
  executionProvider?: ExecutionProvider;
  intraOpThreads?: number;
  maxStepsPerEpoch?: number;
  onEpoch?: (e: EpochStats & { epoch: number }) => void;
  onStep?: (e: { epoch: number; step: number; steps: number; loss: number; lr: number }) => void;
  /** Stop signal, checkpoints, NaN policy, a checkpoint to continue from (src/training/control.ts). */
  control?: TrainingControl;
}

export async function negGrad(o: NegGradOptions): Promise<{ session: TrainingSession; epochs: EpochStats[] }> {
  const { config } = o;
  checkRetainFitsModel(layerInventory(o.model), displayName(o.model), o.forget, "forget set");
  if (o.forget.count < config.batchSize) {
    throw new UserError(`the forget set has ${o.forget.count} examples, fewer than one batch of ${config.batchSize}`);
  }
  const session = await openTrainingSession(o.model, {
    loss: "ce",
    momentum: config.momentum,
    weightDecay: config.weightDecay,
    executionProvider: o.executionProvider,
    intraOpThreads: o.intraOpThreads,
    ...trainingLoopOptions(o),
  });
  const start = startOf(o.control);
  const resumed = (o.control?.resume?.snapshot.method as { epochs?: EpochStats[] } | undefined)?.epochs;
  const epochs: EpochStats[] = structuredClone(resumed ?? []);
  if (o.control?.resume && epochs.length !== start.epoch)
    throw new UserError(`the checkpoint holds ${epochs.length} finished epochs, expected ${start.epoch}`);
  const total = config.epochs.reduce((a, b) => a + b, 0);
  const steps = stepsPerEpoch(o.forget.count, config.batchSize, o.maxStepsPerEpoch);
  try {
    o.control?.resume?.restore(session);
    for (let epoch = start.epoch; epoch < total; epoch++) {
      const batches = trainingBatches(o.forget, {
        batchSize: config.batchSize,
        seed: o.seed ?? 0,
        epoch,
        noiseSigma: config.sigma,
        normalisation: o.normalisation,
        dropLast: true,
      });
      const at = (step: number) => ({ globalEpoch: epoch, epochInCycle: epoch, progress: step / steps });
      const stats = await trainEpoch(session, batches, {
        steps,
        labels: true,
        lr: (step) => -learningRate(config.schedule, at(step)),
        onStep: (step, loss, lr) => o.onStep?.({ epoch, step, steps, loss, lr: -lr }),
        epoch,
        control: o.control,
        methodState: () => ({ epochs }),
      });
      epochs.push(stats);
      o.onEpoch?.({ epoch, ...stats });
    }
  } catch (e) {
    await session.release();
    throw e;
  }
  return { session, epochs };
}
