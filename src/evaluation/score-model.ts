/**
 * Scores a model file on several named sets of examples: the comparison tables of `unlearn` and `demo`.
 */
import type { Examples } from "../data/index.js";
import type { ModelFile } from "../onnx/model-io.js";
import { InferenceModel, type InferenceOptions } from "../training/inference.js";
import { evaluate, type EvaluateOptions, type Evaluation } from "./accuracy.js";

/** Accuracy and loss on each non-empty set, in the order given. */
export async function scoreModel(
  model: ModelFile,
  sets: Record<string, Examples>,
  o: EvaluateOptions & InferenceOptions = {},
): Promise<Record<string, Evaluation>> {
  const m = await InferenceModel.create(model, o);
  const out: Record<string, Evaluation> = {};
  try {
    for (const [name, examples] of Object.entries(sets)) {
      if (examples.count > 0) out[name] = await evaluate((b) => m.run(b), examples, o);
    }
  } finally {
    await m.release();
  }
  return out;
}
