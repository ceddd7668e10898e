/**
 * The memory check of a job or a scoring command, before any work: every stage's estimate on the data that was
 * opened (src/data/memory.ts), the largest against the budget.
 */
import { batchBytes, heldImageBytes, type Dataset, type Examples } from "../../data/index.js";
import type { ModelFile } from "../../onnx/model-io.js";
import { checkMemoryBudget, type MemoryBudget } from "./budget.js";
import { estimateMemory, modelMemory, type MemoryEstimate, type MemoryStage } from "./estimate.js";

export interface MemoryCheck {
  model: ModelFile;
  stages: MemoryStage[];
  /** The data set opened, and the retain set's detached copy when one was made. */
  dataset: Dataset;
  retain?: Examples;
  budget: MemoryBudget;
}

/** The largest stage's estimate when it fits the budget; a UserError with the estimate's terms when it does not. */
export async function checkMemory(o: MemoryCheck): Promise<MemoryEstimate> {
  const model = await modelMemory(o.model);
  const held = heldImageBytes(o.retain ? [o.dataset.all, o.retain] : [o.dataset.all]);
  const estimates = o.stages.map((s) =>
    estimateMemory(model, s, held + batchBytes(o.dataset.shape, Math.max(s.batchSize, s.evalBatchSize ?? 0))),
  );
  const peak = estimates.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  checkMemoryBudget(peak, o.budget);
  return peak;
}
