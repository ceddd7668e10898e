/**
 * The training loop's shared pieces: a session for a model (with the BatchNormalization form the execution
 * provider can run), and one epoch of steps over a stream of batches.
 */
import type { Batch } from "../data/index.js";
import { UserError } from "../errors.js";
import type { ModelFile } from "../onnx/model-io.js";
import { buildArtifacts, type LossKind } from "./artifacts/index.js";
import { TrainingSession, type ExecutionProvider } from "./session/index.js";

export interface OpenTrainingOptions {
  loss: LossKind;
  /** Embed the frozen original model as the MSE target (the method's knowledge-preserving loss). */
  teacher?: boolean;
  /** SGD momentum and weight decay; defaults 0.9 and 5e-4. */
  momentum?: number;
  weightDecay?: number;
  executionProvider?: ExecutionProvider;
  intraOpThreads?: number;
}

/** An SGD training session for `model`. */
export async function openTrainingSession(model: ModelFile, o: OpenTrainingOptions): Promise<TrainingSession> {
  const ep = o.executionProvider ?? "cpu";
  const artifacts = await buildArtifacts(model, {
    loss: o.loss,
    optimizer: "sgd",
    teacher: o.teacher,
    // onnxruntime's CUDA provider refuses training-mode BatchNormalization nodes (docs/artifacts.md)
    batchNorm: ep === "cuda" ? "decomposed" : "node",
    hyper: { momentum: o.momentum ?? 0.9, weightDecay: o.weightDecay ?? 5e-4 },
  });
  return TrainingSession.create(artifacts, { executionProvider: ep, intraOpThreads: o.intraOpThreads });
}

/** Full batches one epoch gives, capped by `max`. */
export const stepsPerEpoch = (examples: number, batchSize: number, max = Infinity): number =>
  Math.min(max, Math.floor(examples / batchSize));

export interface EpochOptions {
  /** Stop after this many steps. */
  steps: number;
  /** Learning rate of step `step` (0-based). */
  lr: (step: number) => number;
  /** Feed the batch's labels as targets (cross-entropy); without, the step takes no targets (teacher inside). */
  labels?: boolean;
  onStep?: (step: number, loss: number, lr: number) => void;
  /** Where this epoch is, for messages ("cycle 2, epoch 3"). */
  where?: string;
}

export interface EpochStats {
  meanLoss: number;
  seconds: number;
  images: number;
}

export async function trainEpoch(
  session: TrainingSession,
  batches: AsyncIterable<Batch>,
  o: EpochOptions,
): Promise<EpochStats> {
  const started = performance.now();
  let total = 0;
  let step = 0;
  let images = 0;
  for await (const b of batches) {
    if (step >= o.steps) break;
    const lr = o.lr(step);
    const targets = o.labels ? { dtype: "int64" as const, dims: [b.dims[0]], data: b.y } : undefined;
    const { loss } = await session.step({ dtype: "float32", dims: b.dims, data: b.x }, targets, lr);
    if (!Number.isFinite(loss)) {
      throw new UserError(
        `the loss became ${loss} at step ${step + 1}${o.where ? ` of ${o.where}` : ""} (lr ${lr}); the weights are no longer usable: lower the learning rate or check the inputs for NaN/Inf`,
      );
    }
    total += loss;
    images += b.dims[0];
    step++;
    o.onStep?.(step, loss, lr);
  }
  return { meanLoss: total / Math.max(1, step), seconds: (performance.now() - started) / 1000, images };
}
