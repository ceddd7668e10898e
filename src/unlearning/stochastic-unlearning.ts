/**
 * Forget-remember cycles (method.md): each cycle re-initialises layers drawn from the pool, then trains on noisy
 * retain images, by default to reproduce the frozen original model's logits (MSE; the original runs inside the
 * same train step on the same noisy batch). The config's switches turn each idea of the paper's ablation on or
 * off; `finetune` is one cycle with no re-initialisation and cross-entropy. It reads the retain set only: the
 * RetainOnly type gives it no way to reach the forget set.
 */
import {
  checkAgainstModel,
  trainingBatches,
  type Examples,
  type Normalisation,
  type RetainOnly,
} from "../data/index.js";
import { rngFor, type Seed } from "../data/random.js";
import { UserError } from "../errors.js";
import { layerInventory, type Inventory, type Layer } from "../onnx/layers.js";
import { displayName, type ModelFile } from "../onnx/model-io.js";
import { zeros } from "../onnx/tensor.js";
import { startOf, type Position, type TrainingControl } from "../training/control.js";
import { openTrainingSession, stepsPerEpoch, trainEpoch, type EpochStats } from "../training/epoch.js";
import {
  type ExecutionProvider,
  type TrainingSession,
  trainingLoopOptions,
  type TrainingLoopOptions,
} from "../training/session/index.js";
import { resolveUnlearnConfig, type UnlearnConfig, type UnlearnConfigInput } from "./config.js";
import { drawLayers, freshLayerTensors } from "./reinit.js";
import { learningRate, type Schedule } from "./schedule.js";

export interface UnlearnOptions extends TrainingLoopOptions {
  /** The trained original model (also the frozen teacher). */
  model: ModelFile;
  /** The retain set: the only data the method sees. */
  retain: RetainOnly;
  /** Per-channel normalisation the model expects (default: none, images in [0, 1]). */
  normalisation?: Normalisation;
  /** The method's options (config.ts): resolved, or given as input to resolve (defaults: Algo 1). */
  config?: UnlearnConfig | UnlearnConfigInput;
  /** Run seed: layer draws, shuffling and noise. Default 0. */
  seed?: Seed;
  executionProvider?: ExecutionProvider;
  intraOpThreads?: number;
  /** Stop each epoch after this many steps (quick runs and tests). Default: the whole retain set. */
  maxStepsPerEpoch?: number;
  onProgress?: (e: ProgressEvent) => void;
  /** Stop signal, checkpoints, NaN policy, a checkpoint to continue from (src/training/control.ts). */
  control?: TrainingControl;
}

export type ProgressEvent =
  | { kind: "start"; retain: number; poolSize: number; stepsPerEpoch: number }
  | { kind: "reinit"; cycle: number; draws: string[]; layers: string[] }
  | { kind: "step"; cycle: number; epoch: number; step: number; stepsInEpoch: number; loss: number; lr: number }
  | {
      kind: "epoch";
      cycle: number;
      epoch: number;
      meanLoss: number;
      seconds: number;
      images: number;
      skipped?: number;
    };

export interface CycleReport {
  cycle: number;
  draws: string[];
  layers: string[];
  epochs: EpochStats[];
}

export interface UnlearnResult {
  /** The session holding the unlearned weights (release() it when done). */
  session: TrainingSession;
  config: UnlearnConfig;
  cycles: CycleReport[];
}

export async function stochasticUnlearning(o: UnlearnOptions): Promise<UnlearnResult> {
  const config = isResolved(o.config) ? o.config : resolveUnlearnConfig(o.config ?? {});
  if (config.method === "neggrad")
    throw new UserError("neggrad reads the forget set: run it with negGrad(), not the retain-only cycles");
  const seed = o.seed ?? 0;
  const inventory = layerInventory(o.model);
  checkRetainFitsModel(inventory, displayName(o.model), o.retain);
  if (o.retain.count < config.batchSize) {
    throw new UserError(`the retain set has ${o.retain.count} examples, fewer than one batch of ${config.batchSize}`);
  }
  const pool = checkReinitPool(inventory, config, displayName(o.model));
  const start = startOf(o.control);
  const cycles = resumedCycles(o.control, config, start);
  const session = await openTrainingSession(o.model, {
    loss: config.loss,
    teacher: config.loss === "mse",
    momentum: config.momentum,
    weightDecay: config.weightDecay,
    executionProvider: o.executionProvider,
    intraOpThreads: o.intraOpThreads,
    ...trainingLoopOptions(o),
  });
  o.onProgress?.({
    kind: "start",
    retain: o.retain.count,
    poolSize: pool.length,
    stepsPerEpoch: stepsPerEpoch(o.retain.count, config.batchSize, o.maxStepsPerEpoch),
  });
  try {
    o.control?.resume?.restore(session);
    let globalEpoch = 0;
    for (let c = 0; c < config.epochs.length; c++) {
      let cycle = cycles[c];
      if (!cycle) {
        const report = forget(session, pool, c, config, seed);
        if (config.reinit !== "none") o.onProgress?.({ kind: "reinit", cycle: c, ...report });
        cycle = { cycle: c, ...report, epochs: [] };
        cycles.push(cycle);
      }
      for (let e = 0; e < config.epochs[c]!; e++, globalEpoch++) {
        if (globalEpoch < start.epoch) continue; // done before the checkpoint
        const at = { cycle: c, epochInCycle: e, globalEpoch, seed };
        cycle.epochs.push(await remember(session, o, config, at, () => ({ cycles })));
      }
    }
  } catch (e) {
    await session.release();
    throw e;
  }
  return { session, config, cycles };
}

/**
 * The cycles a checkpoint's run had begun (their draws, and the epochs finished), up to the one in progress at
 * its position: those are not re-initialised again. None without a checkpoint.
 */
function resumedCycles(control: TrainingControl | undefined, config: UnlearnConfig, at: Position): CycleReport[] {
  if (!control?.resume) return [];
  const cycles = (control.resume.snapshot.method as { cycles?: CycleReport[] } | undefined)?.cycles;
  let first = 0;
  const current = config.epochs.findIndex((n) => at.epoch < (first += n));
  if (!Array.isArray(cycles) || current < 0 || cycles.length !== current + 1)
    throw new UserError(
      `the checkpoint's cycles (${Array.isArray(cycles) ? cycles.length : "none"}) do not fit epoch ${at.epoch + 1} of cycles [${config.epochs}]`,
    );
  return structuredClone(cycles);
}

function isResolved(c: UnlearnOptions["config"]): c is UnlearnConfig {
  return (
    !!c &&
    Array.isArray(c.epochs) &&
    Array.isArray(c.layers) &&
    typeof c.schedule === "object" &&
    Array.isArray(c.exclude)
  );
}

/**
 * The pool, checked against the config before any work: not empty when layers are re-initialised, and no cycle
 * drawing more layers than the pool holds (draws are with replacement, so more draws only repeat layers; a count
 * above the pool is a mistake, and a huge one would cost time for nothing).
 */
export function checkReinitPool(
  inventory: Inventory,
  config: Pick<UnlearnConfig, "exclude" | "reinit" | "layers">,
  file: string,
): Layer[] {
  const pool = reinitPool(inventory, config);
  const excluded = config.exclude.join(", ") || "nothing";
  if (config.reinit !== "none" && pool.length === 0) {
    throw new UserError(`${file}: no layer may be re-initialised (the pool after excluding ${excluded} is empty)`);
  }
  const most = Math.max(0, ...config.layers);
  if (config.reinit === "random" && most > pool.length) {
    throw new UserError(
      `layers: ${most} draws in a cycle, more than the ${pool.length} layers of ${file}'s re-initialisation pool (after excluding ${excluded}); give at most ${pool.length}, or --reinit all-body to re-initialise every one`,
    );
  }
  return pool;
}

/** The layers a cycle may re-initialise: body layers, plus the classifier and shortcuts unless excluded. */
export function reinitPool(inventory: Inventory, config: Pick<UnlearnConfig, "exclude">): Layer[] {
  const excluded = new Set<string>(config.exclude.map((e) => (e === "shortcuts" ? "shortcut" : e)));
  return inventory.layers.filter((l) => l.role === "body" || !excluded.has(l.role));
}

/** Forgetting phase: fresh values for the chosen layers, and the optimizer's buffers cleared. */
function forget(session: TrainingSession, pool: Layer[], cycle: number, config: UnlearnConfig, seed: Seed) {
  if (config.reinit === "none") return { draws: [], layers: [] };
  const rng = rngFor(seed, "reinit", cycle);
  const { layers, draws } =
    config.reinit === "all-body"
      ? { layers: pool, draws: pool.map((l) => l.name) }
      : drawLayers(pool, config.layers[cycle]!, rng);
  const current = session.getParameters();
  const fresh = new Map(layers.flatMap((l) => [...freshLayerTensors(l, current, config.init, rng)]));
  session.setParameters(fresh, `re-initialisation of cycle ${cycle + 1}`);
  const buffers = new Map(
    session.manifest.state
      .filter((s) => s.role !== "param" && !s.role.startsWith("bn_"))
      .map((s) => [s.name, zeros(s.dtype, s.dims)]),
  );
  session.setState(buffers, undefined, "optimizer reset");
  return { draws, layers: layers.map((l) => l.name) };
}

/** Remembering phase, one epoch over the retain set: MSE to the original's logits (or CE) on noisy images. */
async function remember(
  session: TrainingSession,
  o: UnlearnOptions,
  config: UnlearnConfig,
  at: { cycle: number; epochInCycle: number; globalEpoch: number; seed: Seed },
  methodState: () => unknown,
): Promise<EpochStats> {
  const steps = stepsPerEpoch(o.retain.count, config.batchSize, o.maxStepsPerEpoch);
  const batches = trainingBatches(o.retain, {
    batchSize: config.batchSize,
    seed: at.seed,
    epoch: at.globalEpoch,
    noiseSigma: config.sigma,
    normalisation: o.normalisation,
    dropLast: true,
  });
  const schedule: Schedule = config.schedule;
  const epoch = await trainEpoch(session, batches, {
    steps,
    labels: config.loss === "ce",
    where: `cycle ${at.cycle + 1}, epoch ${at.globalEpoch + 1}`,
    lr: (step) =>
      learningRate(schedule, { globalEpoch: at.globalEpoch, epochInCycle: at.epochInCycle, progress: step / steps }),
    onStep: (step, loss, lr) =>
      o.onProgress?.({ kind: "step", cycle: at.cycle, epoch: at.globalEpoch, step, stepsInEpoch: steps, loss, lr }),
    epoch: at.globalEpoch,
    control: o.control,
    methodState,
  });
  o.onProgress?.({ kind: "epoch", cycle: at.cycle, epoch: at.globalEpoch, ...epoch });
  return epoch;
}

/** The images must fit the model's input, and their labels its classes. */
export function checkRetainFitsModel(
  inventory: Inventory,
  file: string,
  examples: Examples,
  what = "retain set",
): void {
  const [input] = inventory.inputs;
  const k = inventory.outputs[0]?.dims?.at(-1);
  checkAgainstModel(examples, {
    inputDims: input?.dims ?? [],
    numClasses: typeof k === "number" ? k : undefined,
    model: `${file} (input '${input?.name}')`,
    data: what,
  });
}
