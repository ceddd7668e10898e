/**
 * The stages a job runs, as the peak-memory estimate sees them (src/training/memory/): each job checks the largest
 * against the budget (--memory-budget; default: the machine's memory or its cgroup limit) before any folder is made.
 */
import { EVAL_BATCH_SIZE } from "../evaluation/accuracy.js";
import type { MemoryStage } from "../training/memory/index.js";
import type { UnlearnConfig } from "../unlearning/config.js";

/** A train run (cross-entropy), scoring the validation split after each epoch when there is one. */
export const trainStage = (batchSize: number, validationCount = 0): MemoryStage => ({
  what: "train",
  use: "train",
  batchSize,
  ...(validationCount > 0 ? { evalBatchSize: EVAL_BATCH_SIZE } : {}),
});

/** An unlearning run: MSE to the embedded original (the teacher), or cross-entropy. */
export const unlearnStage = (config: Pick<UnlearnConfig, "method" | "loss" | "batchSize">): MemoryStage => ({
  what: `unlearn (${config.method})`,
  use: config.loss === "mse" ? "teacher" : "train",
  batchSize: config.batchSize,
});

/** Scoring a model (accuracy, per-example evaluation). */
export const scoringStage = (batchSize = EVAL_BATCH_SIZE): MemoryStage => ({
  what: "scoring",
  use: "inference",
  batchSize,
});
