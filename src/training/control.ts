/**
 * What a training run takes from outside its loop: a signal to stop between two steps (between two onnxruntime
 * runs of K steps, see TrainingSessionOptions.stepsPerRun; runs end at checkpoints), checkpoints every N
 * steps, what a non-finite loss or input does, and a checkpoint to continue from. The loop (epoch.ts) and the
 * methods (fit, stochastic unlearning, NegGrad) use it; where a checkpoint goes is the caller's business.
 *
 * Continuing is exact because everything a step depends on is either in the session's state (weights, momentum,
 * BatchNorm statistics) or a function of where the run is: the batches and their noise are drawn from streams
 * named by (seed, epoch, batch index) (src/data/batches.ts), the learning rate from (epoch, step), and a cycle's
 * re-initialisation from (seed, cycle), done once at the start of the cycle.
 */
import type { TrainingSession } from "./session/index.js";

export const ON_NAN = ["stop", "skip"] as const;
/** A non-finite loss, update or input: "stop" the run (naming step, epoch, cycle), or "skip" the batch. */
export type OnNan = (typeof ON_NAN)[number];

/** Where a run is between two steps. */
export interface Position {
  /** The epoch in progress, counted over the whole run (0-based). */
  epoch: number;
  /** Batches of that epoch done (trained on or skipped). */
  step: number;
  /** That epoch so far: the sum of its losses, the images trained on, the batches skipped, seconds spent. */
  lossSum: number;
  images: number;
  skipped: number;
  seconds: number;
}

/** A run between two steps: where it is, and what the method has gathered so far (JSON, the method's own). */
export interface Snapshot {
  position: Position;
  method?: unknown;
}

export interface TrainingControl {
  /** Checked before every run of steps: once aborted, the loop saves a checkpoint and throws Interrupted. */
  signal?: AbortSignal;
  /** Save a checkpoint after every this many steps of the run (counted over all epochs). */
  checkpointEvery?: number;
  /** Writes a checkpoint: the session's state tensors and the snapshot. */
  save?: (session: TrainingSession, snapshot: Snapshot) => void;
  /** A checkpoint to continue from: where it was, and how to put its state into the session. */
  resume?: { snapshot: Snapshot; restore: (session: TrainingSession) => void };
  /** Default "stop". */
  onNan?: OnNan;
}

/** The run's first position: the resumed one, or the start. */
export function startOf(control: TrainingControl | undefined): Position {
  return control?.resume?.snapshot.position ?? { epoch: 0, step: 0, lossSum: 0, images: 0, skipped: 0, seconds: 0 };
}
