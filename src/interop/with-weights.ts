/**
 * The model a user brought, with new weights: every field, initializer order and metadata of the source
 * kept, only the values of the named initializers replaced. How unlearned and trained models are written.
 */
import { UserError } from "../errors.js";
import { saveModel, type ModelFile } from "../onnx/model-io.js";
import { cloneModel } from "../onnx/proto.js";
import type { Tensor } from "../onnx/tensor.js";
import { importWeights, list } from "./state-dict.js";

export function withWeights(source: ModelFile, weights: Map<string, Tensor>): ModelFile {
  const copy: ModelFile = { ...source, proto: cloneModel(source.proto) };
  const report = importWeights(copy, weights, { source: "trained weights" });
  if (report.unexpected.length)
    throw new UserError(`has no initializers named ${list(report.unexpected)}`, source.file);
  return copy;
}

/** Writes `source` with `weights` to `path` (atomically). */
export function saveWithWeights(source: ModelFile, weights: Map<string, Tensor>, path: string): void {
  saveModel(withWeights(source, weights), path);
}
