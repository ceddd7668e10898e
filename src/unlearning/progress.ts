import type { ProgressEvent } from "./stochastic-unlearning.js";

/** One log line for a cycle's re-initialisation or a finished epoch. */
export function describeProgress(e: Extract<ProgressEvent, { kind: "reinit" | "epoch" }>): string {
  if (e.kind === "reinit")
    return `cycle ${e.cycle + 1}: re-initialised ${e.layers.join(", ")} (draws: ${e.draws.join(", ")})`;
  return `cycle ${e.cycle + 1} epoch ${e.epoch + 1}: mean MSE ${e.meanLoss.toExponential(3)}, ${(e.images / e.seconds).toFixed(0)} img/s`;
}
