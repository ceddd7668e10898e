/** Peak-memory estimates and the budget they must fit (issue #12): jobs check them before any work. */
export {
  describeEstimate,
  estimateMemory,
  formatBytes,
  modelMemory,
  RUNTIME_BYTES,
  type MemoryEstimate,
  type MemoryStage,
  type MemoryUse,
  type ModelMemory,
} from "./estimate.js";
export {
  CGROUP_LIMIT_FILES,
  checkMemoryBudget,
  defaultMemoryBudget,
  parseMemorySize,
  resolveMemoryBudget,
  type MemoryBudget,
} from "./budget.js";
export { checkMemory, type MemoryCheck } from "./check.js";
