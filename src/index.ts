/**
 * onnx-unlearn's library front door: everything the CLI uses, for Node scripts and pipelines.
 *
 *   import { train, unlearn, openSource, selectForget } from "onnx-unlearn";
 */
export { UserError, isUserError, Interrupted } from "./errors.js";
export {
  openSource,
  selectForget,
  parseForgetSpec,
  retainOnly,
  datasetIdentity,
  computeNormalisation,
  SOURCE_SPECS,
  FORGET_SPEC_FORMS,
  type Dataset,
  type Examples,
  type ForgetSet,
  type ForgetSpec,
  type Normalisation,
  type OpenSourceOptions,
  type RetainOnly,
  type DatasetIdentity,
} from "./data/index.js";
export { loadModel, saveModel, type ModelFile } from "./onnx/model-io.js";
export { layerInventory, type Inventory, type Layer } from "./onnx/layers.js";
export { TrainingSession, type ExecutionProvider, type TrainingSessionOptions } from "./training/session/index.js";
export { InferenceModel } from "./training/inference.js";
export {
  defaultMemoryBudget,
  describeEstimate,
  estimateMemory,
  modelMemory,
  parseMemorySize,
  resolveMemoryBudget,
  type MemoryBudget,
  type MemoryEstimate,
  type MemoryStage,
} from "./training/memory/index.js";
export { ON_NAN, type OnNan, type Position, type Snapshot, type TrainingControl } from "./training/control.js";
export {
  listRuns,
  parseShard,
  readManifest,
  requireRun,
  runEnvironment,
  sha256File,
  type RunManifest,
  type Shard,
} from "./runs/index.js";
export type { JobEvent, EventSink } from "./jobs/events.js";
export { train, type TrainOptions } from "./jobs/train.js";
export { DEFAULT_STEPS_PER_RUN } from "./training/session/options.js";
export { TRAIN_DEFAULTS, type TrainConfig } from "./jobs/train-config.js";
export type { RunControlOptions, RunGroupResult } from "./jobs/run-group.js";
export { unlearn, type UnlearnJobOptions } from "./jobs/unlearn.js";
export {
  CONFIG_KEYS,
  EXCLUSIONS,
  LOSSES,
  METHOD_DEFAULTS,
  METHODS,
  PRESETS,
  REINIT_MODES,
  resolveUnlearnConfig,
  type UnlearnConfig,
  type UnlearnConfigInput,
  type MethodName,
} from "./unlearning/config.js";
export { stochasticUnlearning, type UnlearnOptions, type UnlearnResult } from "./unlearning/stochastic-unlearning.js";
export { negGrad } from "./unlearning/neggrad.js";
export { evaluateTarget, type EvalRecord } from "./evaluation/eval-cache.js";
export { evaluateModel, type ModelEvaluation } from "./evaluation/eval-model.js";
export { membershipInference, type MiaResult } from "./evaluation/mia.js";
export {
  scoreConfs,
  forgetScore,
  pairedDifference,
  pairedFinalDifference,
  type ChallengeScore,
  type PairedDifference,
} from "./evaluation/challenge-score/index.js";
export { scoreRuns } from "./evaluation/run-scores.js";
export { renderReport, writeReport, type ReportInput } from "./evaluation/report/index.js";
export { runBenchmark, type BenchmarkOptions } from "./jobs/benchmark/benchmark.js";
export { SUITES, type Suite } from "./jobs/benchmark/suites.js";
export { runDemo, type DemoOptions } from "./jobs/demo.js";
export { quickstart } from "./jobs/quickstart.js";
