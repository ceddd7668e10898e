/** The NeurIPS 2023 Machine Unlearning Challenge score (docs/score.md). */
export { logitScaledConfidence } from "./confidence.js";
export {
  DELTA,
  EPSILON_CAP,
  SPREAD_RATIO,
  THRESHOLDS_PER_UNIT,
  WINDOW_BUFFER,
  epsilonScorer,
  exampleEpsilon,
  type EpsilonOptions,
} from "./epsilon.js";
export {
  bootstrapMean,
  bucketsFor,
  meanInterval,
  finalScore,
  forgetScore,
  scoreEpsilons,
  type BootstrapInterval,
  type Bucket,
  type ForgetScore,
  type ForgetScoreOptions,
} from "./forget-score.js";
export { pairedDifference, pairedFinalDifference, type PairedDifference, type PairedOptions } from "./paired.js";
export { numpyLinspace, torchLinspaceF32, type TorchGrid } from "./linspace.js";
export { readConfsFile, scoreConfs, scoreConfsFile, type ChallengeScore, type ConfsInput } from "./score-confs.js";
