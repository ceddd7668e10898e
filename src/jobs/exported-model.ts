/** The trained model to write: the starting model's graph and fields with the session's weights. */
import { withWeights } from "../interop/with-weights.js";
import type { ModelFile } from "../onnx/model-io.js";
import type { TrainingSession } from "../training/session/index.js";

export function exportedModel(start: ModelFile, session: TrainingSession): ModelFile {
  return withWeights(start, session.getParameters());
}
