/**
 * Plain supervised training with cross-entropy: how the demo trains its original model, and the
 * "fine-tune on the retain set" baseline of the challenge.
 */
import { trainingBatches, type Examples, type Normalisation, type Seed } from "../data/index.js";
import type { ModelFile } from "../onnx/model-io.js";
import { buildArtifacts } from "./artifacts/index.js";
import { TrainingSession, type ExecutionProvider } from "./session/index.js";

export interface FitOptions {
  model: ModelFile;
  data: Examples;
  normalisation?: Normalisation;
  /** Default 2. */
  epochs?: number;
  /** Peak learning rate, cosine-annealed to 0 over the whole run. Default 0.05. */
  lr?: number;
  /** Default 64. */
  batchSize?: number;
  momentum?: number;
  weightDecay?: number;
  seed?: Seed;
  executionProvider?: ExecutionProvider;
  intraOpThreads?: number;
  /** Stop each epoch after this many steps. Default: the whole set. */
  maxStepsPerEpoch?: number;
  onEpoch?: (e: { epoch: number; meanLoss: number; seconds: number; images: number }) => void;
}

/** Trains and returns the session holding the trained weights (release() it when done). */
export async function fitClassifier(o: FitOptions): Promise<TrainingSession> {
  const artifacts = await buildArtifacts(o.model, { loss: "ce", optimizer: "sgd", batchNorm: o.executionProvider === "cuda" ? "decomposed" : "node", hyper: { momentum: o.momentum ?? 0.9, weightDecay: o.weightDecay ?? 5e-4 } });
  const session = await TrainingSession.create(artifacts, { executionProvider: o.executionProvider ?? "cpu", intraOpThreads: o.intraOpThreads });
  const epochs = o.epochs ?? 2;
  const batchSize = o.batchSize ?? 64;
  const steps = Math.min(o.maxStepsPerEpoch ?? Infinity, Math.floor(o.data.count / batchSize));
  const peak = o.lr ?? 0.05;
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const started = performance.now();
      let total = 0;
      let step = 0;
      for await (const b of trainingBatches(o.data, { batchSize, seed: o.seed ?? 0, epoch, noiseSigma: 0, normalisation: o.normalisation, dropLast: true })) {
        if (step >= steps) break;
        const t = (epoch * steps + step) / (epochs * steps);
        const lr = (peak * (1 + Math.cos(Math.PI * t))) / 2;
        total += (await session.step({ dtype: "float32", dims: b.dims, data: b.x }, { dtype: "int64", dims: [b.dims[0]], data: b.y }, lr)).loss;
        step++;
      }
      o.onEpoch?.({ epoch, meanLoss: total / Math.max(1, step), seconds: (performance.now() - started) / 1000, images: step * batchSize });
    }
  } catch (e) {
    await session.release();
    throw e;
  }
  return session;
}
