/** Run folders and their manifests: the record of how every model was made (format in run-folder.ts). */
export { canonicalJson, sha256Bytes, sha256File, sha256Ids, sha256Json } from "./hash.js";
export { cpuSummary, hostLabel, machineSummary, runEnvironment, runHost, type RunEnvironment } from "./environment.js";
export { isManifest, requestOf, RUN_FORMAT, type EpochRecord, type RunManifest } from "./manifest.js";
export {
  beginRun,
  CHECKPOINT_FILE,
  finishRun,
  listRuns,
  MANIFEST_FILE,
  MODEL_FILE,
  readManifest,
  requestMismatch,
  requireRun,
  runDir,
  runDirName,
  runState,
  type RunState,
} from "./run-folder.js";
export { ALL_RUNS, parseShard, shardRuns, type Shard } from "./shard.js";
export { claimRun, clearStaleClaim, CLAIM_FILE, type Claim } from "./claim.js";
export { count, fields, list, number, type Check } from "./manifest-check.js";
