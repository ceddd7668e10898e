export { buildArtifacts, FILES, type Artifacts, type BuildOptions } from "./build.js";
export { readArtifacts, writeArtifacts } from "./files.js";
export { MANIFEST_VERSION, parseManifest, type Manifest, type StateEntry, type StateRole } from "./manifest.js";
export { LOSS_KINDS, type LossKind } from "./losses.js";
export {
  ADAMW_DEFAULTS,
  OPTIMIZER_KINDS,
  SGD_DEFAULTS,
  type AdamWHyper,
  type OptimizerKind,
  type SgdHyper,
} from "./optimizers.js";
export { findParameters } from "./parameters.js";
export type { BatchNormForm } from "./train-mode.js";
export { checkOutputs, checkTrainable, checkWeightedLayers } from "./check-model.js";
