/**
 * The method's input noise inside the train step: x' = x + RandomNormalLike(x) * std, fed to everything that
 * read x (student and, when embedded, the teacher), so the noise costs no JavaScript work and no copy. The
 * generator is onnxruntime's, seeded once per session: each run draws new noise, the sequence is
 * reproducible on one execution provider (CPU and CUDA draw different numbers).
 */
import { UserError } from "../../errors.js";
import { float, makeAttributes } from "../../onnx/attributes.js";
import { GraphBuilder } from "../../onnx/builder.js";
import { cloneModel, DataType, newNode, type ModelProto } from "../../onnx/proto.js";

export interface InputNoise {
  /** Standard deviation of the Gaussian noise (the method uses 0.01). */
  std: number;
  /** Seed of onnxruntime's generator. Default 0. */
  seed?: number;
}

export function withInputNoise(trainStep: ModelProto, batch: string, noise: InputNoise): ModelProto {
  if (!(noise.std >= 0) || !Number.isFinite(noise.std))
    throw new UserError(`input noise std must be a finite number >= 0, got ${noise.std}`);
  const model = cloneModel(trainStep);
  const g = model.graph!;
  const b = new GraphBuilder(g);
  const noisy = b.unique(`${batch}/noisy`);
  for (const n of g.node) n.input = n.input.map((i) => (i === batch ? noisy : i));
  const sample = b.unique(`${batch}/noise`);
  g.node.unshift(
    newNode({
      opType: "RandomNormalLike",
      name: sample,
      input: [batch],
      output: [sample],
      attribute: makeAttributes({
        dtype: DataType.FLOAT,
        mean: float(0),
        scale: float(noise.std),
        seed: float(noise.seed ?? 0),
      }),
    }),
    newNode({ opType: "Add", name: noisy, input: [batch, sample], output: [noisy] }),
  );
  return model;
}
