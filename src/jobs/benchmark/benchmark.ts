/**
 * The quality benchmark: one original, 2N retrained models (N to score against, N more for the ideal), and N
 * unlearning runs per method, all as cached run folders under `root/<suite>/`, so that it resumes after any stop
 * and runs in shards; then every run evaluated (cached in its folder) and each method scored with the challenge
 * metric against the retrained runs. Stages: original, retrained, methods, score (default: all of them).
 */
import { join } from "node:path";
import { ALL_RUNS, MODEL_FILE, type Shard } from "../../runs/index.js";
import { checkMemory, resolveMemoryBudget, type MemoryBudget, type MemoryStage } from "../../training/memory/index.js";
import { type ExecutionProvider, trainingLoopOptions, type TrainingLoopOptions } from "../../training/session/index.js";
import { resolveUnlearnConfig } from "../../unlearning/config.js";
import type { EventSink } from "../events.js";
import { openJobData } from "../job-data.js";
import { scoringStage, trainStage, unlearnStage } from "../memory.js";
import { parseModelSpec } from "../model-spec.js";
import { train } from "../train.js";
import { unlearn } from "../unlearn.js";
import { scoreBenchmark, type BenchmarkResults } from "./score.js";
import { runsOf, SUITES, type Suite } from "./suites.js";

export const STAGES = ["original", "retrained", "methods", "score"] as const;
export type Stage = (typeof STAGES)[number];

export interface BenchmarkOptions extends TrainingLoopOptions {
  suite: Suite;
  /** Folder of the suites' run folders. */
  root: string;
  /** Methods (keys of suite.methods); default all. */
  methods?: string[];
  /** N: runs per method; 2N retrained models. */
  runs: number;
  /** Runs per ablation step and per sweep setting (default N). */
  ablationRuns?: number;
  stages?: Stage[];
  shard?: Shard;
  executionProvider?: ExecutionProvider;
  intraOpThreads?: number;
  /** Refuse to start when the peak-memory estimate is above this (bytes or "8GiB"); default: the machine's memory. */
  memoryBudget?: number | string;
  onEvent?: EventSink;
  log?: (line: string) => void;
}

export function suiteFolders(root: string, suite: Suite) {
  const base = join(root, suite.name);
  return {
    base,
    original: join(base, "original"),
    retrained: join(base, "retrained"),
    method: (name: string) => join(base, "methods", name),
  };
}

export async function runBenchmark(o: BenchmarkOptions): Promise<BenchmarkResults | undefined> {
  const { suite } = o;
  const stages = new Set(o.stages ?? STAGES);
  const shard = o.shard ?? ALL_RUNS;
  const dirs = suiteFolders(o.root, suite);
  const methods = o.methods ?? Object.keys(suite.methods);
  const budget = resolveMemoryBudget(o.memoryBudget);
  await checkBenchmarkMemory(o, stages, methods, budget);
  const runtime = {
    executionProvider: o.executionProvider,
    intraOpThreads: o.intraOpThreads,
    ...trainingLoopOptions(o),
    memoryBudget: budget.bytes,
    onEvent: o.onEvent,
  };
  const data = { data: suite.data, sourceOptions: suite.sourceOptions, normalise: suite.normalise };
  const trainCommon = { ...data, ...runtime, ...suite.train, model: suite.model };
  if (stages.has("original") && shard.index === 0) {
    await train({ ...trainCommon, seed: suite.originalSeed, out: dirs.original });
  }
  if (stages.has("retrained")) {
    await train({
      ...trainCommon,
      excludeForget: suite.forget,
      forgetSeed: suite.forgetSeed,
      seed: suite.retrainedSeed,
      runs: 2 * o.runs,
      shard,
      out: dirs.retrained,
    });
  }
  if (stages.has("methods")) {
    for (const name of methods) {
      const m = suite.methods[name]!;
      o.log?.(`method ${name}: ${m.label}`);
      await unlearn({
        ...data,
        ...runtime,
        model: join(dirs.original, MODEL_FILE),
        forget: suite.forget,
        forgetSeed: suite.forgetSeed,
        config: m.config,
        seed: suite.unlearnSeed,
        runs: runsOf(m, o),
        shard,
        out: dirs.method(name),
      });
    }
  }
  if (!stages.has("score")) return undefined;
  return scoreBenchmark({ ...o, methods });
}

/** Before any folder: the stages asked for (the suite's training, each method, the scoring) on the suite's data. */
async function checkBenchmarkMemory(o: BenchmarkOptions, stages: Set<Stage>, methods: string[], budget: MemoryBudget) {
  const { suite } = o;
  const data = await openJobData({
    source: suite.data,
    sourceOptions: suite.sourceOptions,
    forget: suite.forget,
    forgetSeed: suite.forgetSeed,
  });
  const planned: MemoryStage[] = [];
  if (stages.has("original") || stages.has("retrained")) planned.push(trainStage(suite.train.batchSize));
  if (stages.has("methods"))
    planned.push(...methods.map((m) => unlearnStage(resolveUnlearnConfig(suite.methods[m]!.config))));
  if (stages.has("score")) planned.push(scoringStage());
  if (planned.length === 0) return;
  await checkMemory({
    model: parseModelSpec(suite.model, data.dataset).build(suite.originalSeed),
    stages: planned,
    dataset: data.dataset,
    retain: data.retain,
    budget,
  });
}

export function findSuite(name: string): Suite | undefined {
  return SUITES[name];
}
