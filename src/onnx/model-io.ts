/**
 * Loading and saving ModelProto. A model we did not change saves back byte for byte (onnx-buf keeps every
 * field, known or not). Saves are atomic.
 */
import { readFileSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { UserError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { decodeModel, encodeModel, type ModelProto, type TensorProto } from "./proto.js";
import { readTensor, type Tensor } from "./tensor.js";

/** A decoded model and where it came from (external data is resolved against `dir`). */
export interface ModelFile {
  proto: ModelProto;
  /** Display name for messages: the path, or "<bytes>". */
  file: string;
  /** Folder for external data; undefined for a model given as bytes without `baseDir`. */
  dir?: string;
}

export interface LoadOptions {
  /** Name used in error messages when loading from bytes. */
  name?: string;
  /** Folder for external data when loading from bytes. */
  baseDir?: string;
}

export function loadModel(source: string | Uint8Array, opts: LoadOptions = {}): ModelFile {
  let bytes: Uint8Array;
  let file = opts.name ?? "<bytes>";
  let dir = opts.baseDir;
  if (typeof source === "string") {
    file = source;
    dir = dirname(resolve(source));
    try {
      bytes = readFileSync(source);
    } catch (e) {
      throw new UserError(`cannot read the model file (${(e as NodeJS.ErrnoException).code ?? String(e)})`, file);
    }
  } else {
    bytes = source;
  }
  return { proto: decodeChecked(bytes, file), file, dir };
}

function decodeChecked(bytes: Uint8Array, file: string): ModelProto {
  if (bytes.length === 0) throw new UserError("is empty, expected an ONNX model", file);
  let proto: ModelProto;
  try {
    proto = decodeModel(bytes);
  } catch (e) {
    throw new UserError(`is not a valid ONNX model (protobuf decode failed: ${(e as Error).message}); truncated or not ONNX?`, file);
  }
  if (!proto.graph || proto.irVersion <= 0n || proto.opsetImport.length === 0) {
    throw new UserError("is not an ONNX model (no graph, IR version or opset import)", file);
  }
  return proto;
}

export function modelBytes(model: ModelFile | ModelProto): Uint8Array {
  return encodeModel("proto" in model ? model.proto : model);
}

/** Writes the model atomically; all tensors are embedded (see external-data.ts to split them out). */
export function saveModel(model: ModelFile | ModelProto, path: string): void {
  writeFileAtomic(path, modelBytes(model));
}

export function findInitializer(model: ModelFile, name: string): TensorProto | undefined {
  return model.proto.graph!.initializer.find((t) => t.name === name);
}

export function readInitializer(model: ModelFile, name: string): Tensor {
  const t = findInitializer(model, name);
  if (!t) throw new UserError(`has no initializer '${name}'`, model.file);
  return readTensor(t, { baseDir: model.dir, file: model.file });
}

/** Every initializer of the main graph, in file order. */
export function readInitializers(model: ModelFile): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const t of model.proto.graph!.initializer) out.set(t.name, readTensor(t, { baseDir: model.dir, file: model.file }));
  return out;
}

export const displayName = (model: ModelFile): string => (model.file === "<bytes>" ? "model" : basename(model.file));
