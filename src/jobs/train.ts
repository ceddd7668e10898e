/**
 * `train`: classifiers from scratch, as run folders. The original (all of train) or a retrained reference
 * (`excludeForget`: the retain set only); `runs` of them with seeds seed..seed+runs-1, each from its own
 * fresh initialisation and data order. Cross-entropy, SGD with momentum, cosine to 0 over all steps.
 */
import { evaluate } from "../evaluation/accuracy.js";
import type { Examples, OpenSourceOptions, NormalisationRequest } from "../data/index.js";
import { UserError } from "../errors.js";
import { layerInventory } from "../onnx/layers.js";
import { displayName, type ModelFile } from "../onnx/model-io.js";
import { fitClassifier } from "../training/fit.js";
import { checkRetainFitsModel } from "../unlearning/stochastic-unlearning.js";
import { type ExecutionProvider, trainingLoopOptions, type TrainingLoopOptions } from "../training/session/index.js";
import type { Shard } from "../runs/index.js";
import type { EventSink } from "./events.js";
import { openJobData } from "./job-data.js";
import { parseModelSpec } from "./model-spec.js";
import { checkRunControl, runGroup, type RunControlOptions, type RunGroupResult } from "./run-group.js";
import { TRAIN_DEFAULTS, type TrainConfig } from "./train-config.js";
import { exportedModel } from "./exported-model.js";
import { trainStage } from "./memory.js";
import { checkMemory, resolveMemoryBudget } from "../training/memory/index.js";

export interface TrainOptions extends Partial<TrainConfig>, RunControlOptions, TrainingLoopOptions {
  /** A .onnx file (every layer re-initialised from the run seed) or zoo:<name>[:key=value,...]. */
  model: string;
  /** Data source spec and its options. */
  data: string;
  sourceOptions?: OpenSourceOptions;
  /** Train on the retain set only: the train split minus this forget spec (a retrained reference). */
  excludeForget?: string;
  /** Seed of a random forget draw. Default 0. */
  forgetSeed?: number;
  normalise?: NormalisationRequest;
  /** The run folder, or with `runs` the folder of run-NNN folders. */
  out: string;
  runs?: number;
  shard?: Shard;
  /** Seed of run 0. Default 0. */
  seed?: number;
  executionProvider?: ExecutionProvider;
  intraOpThreads?: number;
  /** Stop each epoch after this many steps (quick runs, tests). */
  maxStepsPerEpoch?: number;
  /** Refuse to start when the peak-memory estimate is above this (bytes or "8GiB"); default: the machine's memory. */
  memoryBudget?: number | string;
  onEvent?: EventSink;
}

export async function train(o: TrainOptions): Promise<RunGroupResult> {
  checkRunControl(o);
  const budget = resolveMemoryBudget(o.memoryBudget);
  const config: TrainConfig = { ...TRAIN_DEFAULTS, ...definedOnly(o, Object.keys(TRAIN_DEFAULTS)) };
  const data = await openJobData({
    source: o.data,
    sourceOptions: o.sourceOptions,
    forget: o.excludeForget,
    forgetSeed: o.forgetSeed,
    normalise: o.normalise,
  });
  const spec = parseModelSpec(o.model, data.dataset);
  const ep = o.executionProvider ?? "cpu";
  const examples = o.excludeForget === undefined ? data.dataset.train : data.retain;
  const validation = data.dataset.validation;
  const seed = o.seed ?? 0;
  const first = spec.build(seed);
  checkTrainable(first, examples, config.batchSize, o.excludeForget === undefined ? "train split" : "retain set");
  await checkMemory({
    model: first,
    stages: [trainStage(config.batchSize, validation.count)],
    dataset: data.dataset,
    retain: data.retain,
    budget,
  });
  return runGroup(
    {
      out: o.out,
      runs: o.runs,
      shard: o.shard,
      seed,
      job: "train",
      executionProvider: ep,
      threads: o.intraOpThreads,
      onEvent: o.onEvent,
      checkpointEvery: o.checkpointEvery,
      resume: o.resume,
      signal: o.signal,
      onNan: o.onNan,
    },
    (index, runSeed) => ({
      kind: "train",
      method: "train",
      run: { index, of: o.runs ?? 1, seed: runSeed, ...(data.forget ? { forgetSeed: o.forgetSeed ?? 0 } : {}) },
      input: spec.record,
      data: { ...data.identity },
      retain: data.retainRecord, // without --exclude-forget, the whole train split
      forget: data.forgetRecord,
      readsForget: false,
      config: {
        ...config,
        normalisation: data.normalisation ?? "none",
        trainedOn: o.excludeForget === undefined ? "train" : "retain",
        maxStepsPerEpoch: o.maxStepsPerEpoch ?? null,
      },
    }),
    async ({ index, seed: runSeed, epochs, control }) => {
      const model = spec.build(runSeed);
      const t0 = performance.now();
      const session = await fitClassifier({
        model,
        data: examples,
        normalisation: data.normalisation,
        epochs: config.epochs,
        lr: config.lr,
        batchSize: config.batchSize,
        momentum: config.momentum,
        weightDecay: config.weightDecay,
        seed: runSeed,
        executionProvider: ep,
        intraOpThreads: o.intraOpThreads,
        ...trainingLoopOptions(o),
        maxStepsPerEpoch: o.maxStepsPerEpoch,
        onStep: (e) => o.onEvent?.({ event: "step", run: index, phase: "train", ...e }),
        onEpoch: (e) => epochs.push({ phase: "train", ...e }),
        control,
        afterEpoch: async (s) => {
          const record = epochs[epochs.length - 1]!;
          if (validation.count > 0) {
            const v = await evaluate((b) => s.evaluate(b), validation, { normalisation: data.normalisation });
            record.validation = { accuracy: v.accuracy, loss: v.loss };
          }
          o.onEvent?.({ event: "epoch", run: index, ...record });
        },
      });
      const trained = performance.now();
      try {
        return { model: exportedModel(model, session), epochs, seconds: { train: (trained - t0) / 1000 } };
      } finally {
        await session.release();
      }
    },
  );
}

/** Before any folder is made: the images must fit the model, and give at least one full batch per epoch. */
function checkTrainable(model: ModelFile, examples: Examples, batchSize: number, what: string): void {
  checkRetainFitsModel(layerInventory(model), displayName(model), examples, what);
  if (examples.count < batchSize) {
    throw new UserError(
      `the ${what} has ${examples.count} examples, fewer than one batch of ${batchSize} (the last partial batch is dropped)`,
    );
  }
}

function definedOnly<T extends object>(o: T, keys: string[]): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([k, v]) => keys.includes(k) && v !== undefined)) as Partial<T>;
}
