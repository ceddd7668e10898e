/**
 * Stochastic unlearning with a knowledge-preserving loss (method.md): forget-remember cycles. Each cycle
 * re-initialises k randomly drawn body layers, then trains on noisy retain images to reproduce the frozen
 * original model's logits (MSE), the original running inside the same train step on the same noisy batch.
 * It reads the retain set only: it is given no way to reach the forget set.
 */
import { checkAgainstModel, trainingBatches, type Examples, type Normalisation } from "../data/index.js";
import { rngFor, type Seed } from "../data/random.js";
import { UserError } from "../errors.js";
import { layerInventory, type Inventory, type Layer } from "../onnx/layers.js";
import { displayName, type ModelFile } from "../onnx/model-io.js";
import { zeros } from "../onnx/tensor.js";
import { openTrainingSession, stepsPerEpoch, trainEpoch, type EpochStats } from "../training/epoch.js";
import type { ExecutionProvider, TrainingSession } from "../training/session/index.js";
import { drawLayers, freshLayerTensors, type InitScheme } from "./reinit.js";
import { learningRate, type Schedule } from "./schedule.js";

export interface UnlearnOptions {
  /** The trained original model (also the frozen teacher). */
  model: ModelFile;
  /** The retain set: the only data the method sees. */
  retain: Examples;
  /** Per-channel normalisation the model expects (default: none, images in [0, 1]). */
  normalisation?: Normalisation;
  /** Epochs of each cycle's remembering phase; its length is the number of cycles. Default [1, 2, 2] (Algo 1). */
  epochs?: number[];
  /** Layer draws per cycle, with replacement. Default 6. */
  layersPerCycle?: number;
  /** Default cosine from 0.001 with T_max 2 epochs, restarted every cycle (Algo 1). */
  schedule?: Schedule;
  /** Default 64. */
  batchSize?: number;
  /** Gaussian input noise std, after normalisation. Default 0.01. */
  noiseSigma?: number;
  /** SGD momentum and weight decay. Defaults 0.9 and 5e-4 (the challenge baseline). */
  momentum?: number;
  weightDecay?: number;
  /** How re-initialised layers look (reinit.ts). Default "torchvision". */
  init?: InitScheme;
  /** Run seed: layer draws, shuffling and noise. Default 0. */
  seed?: Seed;
  executionProvider?: ExecutionProvider;
  intraOpThreads?: number;
  /** Stop each epoch after this many steps (quick runs and tests). Default: the whole retain set. */
  maxStepsPerEpoch?: number;
  onProgress?: (e: ProgressEvent) => void;
}

export type ProgressEvent =
  | { kind: "start"; retain: number; poolSize: number; stepsPerEpoch: number }
  | { kind: "reinit"; cycle: number; draws: string[]; layers: string[] }
  | { kind: "step"; cycle: number; epoch: number; step: number; stepsInEpoch: number; loss: number; lr: number }
  | { kind: "epoch"; cycle: number; epoch: number; meanLoss: number; seconds: number; images: number };

export interface CycleReport {
  cycle: number;
  draws: string[];
  layers: string[];
  epochs: EpochStats[];
}

export interface UnlearnResult {
  /** The session holding the unlearned weights (release() it when done). */
  session: TrainingSession;
  cycles: CycleReport[];
}

export async function stochasticUnlearning(o: UnlearnOptions): Promise<UnlearnResult> {
  const epochs = o.epochs ?? [1, 2, 2];
  const batchSize = o.batchSize ?? 64;
  const seed = o.seed ?? 0;
  const schedule = o.schedule ?? { kind: "cosine", lr: 0.001, tMax: 2 };
  if (epochs.length === 0 || !epochs.every((e) => Number.isInteger(e) && e >= 0)) {
    throw new UserError(`epochs per cycle must be whole numbers >= 0, got [${epochs.join(", ")}]`);
  }
  const inventory = layerInventory(o.model);
  checkRetainFitsModel(inventory, displayName(o.model), o.retain);
  if (o.retain.count < batchSize)
    throw new UserError(`the retain set has ${o.retain.count} examples, fewer than one batch of ${batchSize}`);
  const pool = inventory.layers.filter((l) => l.reinit);
  const session = await openTrainingSession(o.model, {
    loss: "mse",
    teacher: true,
    momentum: o.momentum,
    weightDecay: o.weightDecay,
    executionProvider: o.executionProvider,
    intraOpThreads: o.intraOpThreads,
  });
  const cycles: CycleReport[] = [];
  let globalEpoch = 0;
  o.onProgress?.({
    kind: "start",
    retain: o.retain.count,
    poolSize: pool.length,
    stepsPerEpoch: stepsPerEpoch(o.retain.count, batchSize, o.maxStepsPerEpoch),
  });
  try {
    for (let c = 0; c < epochs.length; c++) {
      const report = forget(session, pool, c, o, seed);
      o.onProgress?.({ kind: "reinit", cycle: c, ...report });
      const cycle: CycleReport = { cycle: c, ...report, epochs: [] };
      for (let e = 0; e < epochs[c]!; e++, globalEpoch++) {
        cycle.epochs.push(
          await remember(session, o, { cycle: c, epochInCycle: e, globalEpoch, batchSize, seed, schedule }),
        );
      }
      cycles.push(cycle);
    }
  } catch (e) {
    await session.release();
    throw e;
  }
  return { session, cycles };
}

/** Forgetting phase: fresh values for the drawn layers, and the optimizer's buffers cleared. */
function forget(session: TrainingSession, pool: Layer[], cycle: number, o: UnlearnOptions, seed: Seed) {
  const rng = rngFor(seed, "reinit", cycle);
  const { layers, draws } = drawLayers(pool, o.layersPerCycle ?? 6, rng);
  const current = session.getParameters();
  const fresh = new Map(layers.flatMap((l) => [...freshLayerTensors(l, current, o.init ?? "torchvision", rng)]));
  session.setParameters(fresh, `re-initialisation of cycle ${cycle + 1}`);
  const buffers = new Map(
    session.manifest.state
      .filter((s) => s.role !== "param" && !s.role.startsWith("bn_"))
      .map((s) => [s.name, zeros(s.dtype, s.dims)]),
  );
  session.setState(buffers, undefined, "optimizer reset");
  return { draws, layers: layers.map((l) => l.name) };
}

/** Remembering phase, one epoch over the retain set: MSE to the original's logits on noisy images. */
async function remember(
  session: TrainingSession,
  o: UnlearnOptions,
  at: { cycle: number; epochInCycle: number; globalEpoch: number; batchSize: number; seed: Seed; schedule: Schedule },
): Promise<EpochStats> {
  const steps = stepsPerEpoch(o.retain.count, at.batchSize, o.maxStepsPerEpoch);
  const batches = trainingBatches(o.retain, {
    batchSize: at.batchSize,
    seed: at.seed,
    epoch: at.globalEpoch,
    noiseSigma: o.noiseSigma ?? 0.01,
    normalisation: o.normalisation,
    dropLast: true,
  });
  const epoch = await trainEpoch(session, batches, {
    steps,
    lr: (step) =>
      learningRate(at.schedule, { globalEpoch: at.globalEpoch, epochInCycle: at.epochInCycle, progress: step / steps }),
    onStep: (step, loss, lr) =>
      o.onProgress?.({ kind: "step", cycle: at.cycle, epoch: at.globalEpoch, step, stepsInEpoch: steps, loss, lr }),
  });
  o.onProgress?.({ kind: "epoch", cycle: at.cycle, epoch: at.globalEpoch, ...epoch });
  return epoch;
}

/** The retain images must fit the model's input, and their labels its classes. */
function checkRetainFitsModel(inventory: Inventory, file: string, retain: Examples): void {
  const [input] = inventory.inputs;
  const k = inventory.outputs[0]?.dims?.at(-1);
  checkAgainstModel(retain, {
    inputDims: input?.dims ?? [],
    numClasses: typeof k === "number" ? k : undefined,
    model: `${file} (input '${input?.name}')`,
    data: "retain set",
  });
}
