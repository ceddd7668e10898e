/**
 * `unlearn`: the method (or a baseline) from one original model, as run folders: `runs` independent runs with
 * seeds seed..seed+runs-1. stochastic and finetune read the retain set only (a RetainOnly copy made before any
 * work: nothing reachable from it can read a forget example); neggrad reads the forget set, and says so.
 */
import type { NormalisationRequest, OpenSourceOptions } from "../data/index.js";
import { splitTrain } from "../data/index.js";
import { UserError } from "../errors.js";
import { layerInventory, type Layer } from "../onnx/layers.js";
import { checkFiniteWeights, checkTrainable } from "../training/artifacts/check-model.js";
import { loadModel, type ModelFile } from "../onnx/model-io.js";
import { sha256File, type EpochRecord, type Shard } from "../runs/index.js";
import type { TrainingControl } from "../training/control.js";
import { type ExecutionProvider, trainingLoopOptions, type TrainingLoopOptions } from "../training/session/index.js";
import { resolveUnlearnConfig, type UnlearnConfig, type UnlearnConfigInput } from "../unlearning/config.js";
import { negGrad } from "../unlearning/neggrad.js";
import { checkReinitPool, stochasticUnlearning } from "../unlearning/stochastic-unlearning.js";
import type { EventSink } from "./events.js";
import { exportedModel } from "./exported-model.js";
import { openJobData, type JobData } from "./job-data.js";
import { unlearnStage } from "./memory.js";
import { checkMemory, resolveMemoryBudget } from "../training/memory/index.js";
import { checkRunControl, runGroup, type RunControlOptions, type RunGroupResult } from "./run-group.js";

export interface UnlearnJobOptions extends RunControlOptions, TrainingLoopOptions {
  /** The trained original (.onnx). */
  model: string;
  data: string;
  sourceOptions?: OpenSourceOptions;
  /** The forget set among the train split (forget.ts forms); the retain set is the rest. */
  forget?: string;
  forgetSeed?: number;
  /** The source holds only the retain data (its forget examples are already gone): no forget spec. */
  retainOnly?: boolean;
  normalise?: NormalisationRequest;
  /** Method, preset and switches (config.ts); defaults: Algo 1. */
  config?: UnlearnConfigInput;
  out: string;
  runs?: number;
  shard?: Shard;
  seed?: number;
  executionProvider?: ExecutionProvider;
  intraOpThreads?: number;
  maxStepsPerEpoch?: number;
  /** Refuse to start when the peak-memory estimate is above this (bytes or "8GiB"); default: the machine's memory. */
  memoryBudget?: number | string;
  onEvent?: EventSink;
}

export async function unlearn(o: UnlearnJobOptions): Promise<RunGroupResult> {
  checkRunControl(o);
  const config = resolveUnlearnConfig(o.config ?? {});
  const budget = resolveMemoryBudget(o.memoryBudget);
  if (o.forget === undefined && !o.retainOnly) {
    throw new UserError(
      "no forget set: give --forget <spec>, or --retain-only when the source holds only the retain data",
    );
  }
  if (config.method === "neggrad" && o.retainOnly) {
    throw new UserError("neggrad ascends the loss on the forget set, which a --retain-only source does not have");
  }
  const model = loadModel(o.model);
  checkTrainable(model);
  checkFiniteWeights(model);
  const inventory = layerInventory(model);
  if (config.method === "stochastic") checkReinitPool(inventory, config, o.model);
  const sha256 = sha256File(o.model);
  const data = await openJobData({
    source: o.data,
    sourceOptions: o.sourceOptions,
    forget: o.forget,
    forgetSeed: o.forgetSeed,
    retainOnly: o.retainOnly,
    normalise: o.normalise,
  });
  const notes = modelNotes(inventory.layers);
  const readsForget = config.method === "neggrad";
  if (readsForget) notes.push("neggrad reads the forget set (gradient ascent on its loss): it is not forget-free");
  for (const message of notes) o.onEvent?.({ event: "note", message });
  const stages = [unlearnStage(config)];
  await checkMemory({ model, stages, dataset: data.dataset, retain: data.retain, budget });
  const ep = o.executionProvider ?? "cpu";
  return runGroup(
    {
      out: o.out,
      runs: o.runs,
      shard: o.shard,
      seed: o.seed ?? 0,
      job: `unlearn (${config.method})`,
      executionProvider: ep,
      threads: o.intraOpThreads,
      onEvent: o.onEvent,
      checkpointEvery: o.checkpointEvery,
      resume: o.resume,
      signal: o.signal,
      onNan: o.onNan,
    },
    (index, seed) => ({
      kind: "unlearn",
      method: config.method,
      run: { index, of: o.runs ?? 1, seed, ...(data.forget ? { forgetSeed: o.forgetSeed ?? 0 } : {}) },
      input: { model: o.model, sha256 },
      data: { ...data.identity },
      retain: data.retainRecord,
      forget: data.forgetRecord,
      readsForget,
      config: {
        ...config,
        normalisation: data.normalisation ?? "none",
        maxStepsPerEpoch: o.maxStepsPerEpoch ?? null,
      },
    }),
    async ({ index, seed, epochs, control }) => {
      const t0 = performance.now();
      const run = { o, config, data, model, seed, run: index, epochs, control };
      const made = readsForget ? await runNegGrad(run) : await runCycles(run);
      const t1 = performance.now();
      try {
        return {
          model: exportedModel(model, made.session),
          epochs,
          seconds: { unlearn: (t1 - t0) / 1000 },
          reinitialised: made.reinitialised,
          notes,
        };
      } finally {
        await made.session.release();
      }
    },
  );
}

/** One run's inputs, shared by the two ways of making it. */
interface RunContext {
  o: UnlearnJobOptions;
  config: UnlearnConfig;
  data: JobData;
  model: ModelFile;
  seed: number;
  run: number;
  /** Filled with the run's epochs as they finish (those before a checkpoint it continues from already in). */
  epochs: EpochRecord[];
  control: TrainingControl;
}

async function runCycles({ o, config, data, model, seed, run, epochs, control }: RunContext) {
  const r = await stochasticUnlearning({
    model,
    retain: data.retain,
    normalisation: data.normalisation,
    config,
    seed,
    executionProvider: o.executionProvider,
    intraOpThreads: o.intraOpThreads,
    ...trainingLoopOptions(o),
    maxStepsPerEpoch: o.maxStepsPerEpoch,
    control,
    onProgress: (e) => {
      const phase = config.method === "finetune" ? "finetune" : `cycle ${e.kind === "start" ? 0 : e.cycle + 1}`;
      if (e.kind === "step") {
        o.onEvent?.({
          event: "step",
          run,
          phase,
          epoch: e.epoch,
          step: e.step,
          steps: e.stepsInEpoch,
          loss: e.loss,
          lr: e.lr,
        });
      } else if (e.kind === "reinit") {
        o.onEvent?.({ event: "reinit", run, cycle: e.cycle, draws: e.draws, layers: e.layers });
      } else if (e.kind === "epoch") {
        const record: EpochRecord = {
          phase,
          epoch: e.epoch,
          meanLoss: e.meanLoss,
          seconds: e.seconds,
          images: e.images,
          ...(e.skipped ? { skipped: e.skipped } : {}),
        };
        epochs.push(record);
        o.onEvent?.({ event: "epoch", run, ...record });
      }
    },
  });
  const reinitialised =
    config.reinit === "none" ? undefined : r.cycles.map((c) => ({ cycle: c.cycle, draws: c.draws, layers: c.layers }));
  return { session: r.session, reinitialised };
}

async function runNegGrad({ o, config, data, model, seed, run, epochs, control }: RunContext) {
  const forget = splitTrain(data.dataset, data.forget!).forget;
  const r = await negGrad({
    model,
    forget,
    normalisation: data.normalisation,
    config,
    seed,
    executionProvider: o.executionProvider,
    intraOpThreads: o.intraOpThreads,
    ...trainingLoopOptions(o),
    maxStepsPerEpoch: o.maxStepsPerEpoch,
    control,
    onStep: (e) => o.onEvent?.({ event: "step", run, phase: "neggrad", ...e }),
    onEpoch: (e) => {
      const record = { phase: "neggrad", ...e };
      epochs.push(record);
      o.onEvent?.({ event: "epoch", run, ...record });
    },
  });
  return { session: r.session, reinitialised: undefined };
}

/** What the user should know about the model before its layers are re-initialised. */
function modelNotes(layers: Layer[]): string[] {
  const hasConv = layers.some((l) => l.op === "Conv");
  const hasNorm = layers.some((l) => l.params.some((p) => p.kind.startsWith("bn-")));
  if (hasConv && !hasNorm) {
    return [
      "the model has Conv layers but no BatchNormalization: if it was exported in eval mode, BatchNormalization was folded into the convs; re-initialising such a conv gives it fresh weights and a zero bias (what a fresh BatchNormalization's shift would be), and training then adjusts the folded scale through the conv weights (export with TrainingMode.PRESERVE to keep BatchNormalization: README)",
    ];
  }
  return [];
}
