export { TrainingSession, type StepOptions, type StepResult } from "./training-session.js";
export type {
  TrainingSessionOptions,
  ExecutionProvider,
  GraphOptimizationLevel,
  TrainingLoopOptions,
} from "./options.js";
export { trainingLoopOptions } from "./options.js";
export type { ArtifactsLike, ManifestLike, StateSpec } from "./contract.js";
export type { InputNoise } from "./input-noise.js";
export { Evaluator } from "./evaluator.js";
