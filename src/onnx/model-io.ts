/**
 * Loading and saving ModelProto. A model we did not change saves back byte for byte (onnx-buf keeps every
 * field, known or not). Saves are atomic.
 */
import { realpathSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { UserError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { resolveWriteTarget } from "../io/paths.js";
import { readInputFile } from "../io/read-input.js";
import {
  checkExternalData,
  embedExternalData,
  hasExternalData,
  saveModelWithExternalData,
  type ExternalDataOptions,
} from "./external-data.js";
import { cloneModel, decodeModel, encodeModel, type ModelProto, type TensorProto } from "./proto.js";
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
  /** Check at load time that every external-data file exists inside the model's folder (default true). */
  checkExternal?: boolean;
  /** Name used in error messages when loading from bytes. */
  name?: string;
  /** Folder for external data when loading from bytes. */
  baseDir?: string;
}

export function loadModel(source: string | Uint8Array, opts: LoadOptions = {}): ModelFile {
  const fromPath = typeof source === "string";
  const bytes = fromPath ? readInputFile(source, "the model file") : source;
  const file = fromPath ? source : (opts.name ?? "<bytes>");
  const dir = fromPath ? dirname(resolve(source)) : opts.baseDir;
  const proto = decodeChecked(bytes, file);
  if (opts.checkExternal !== false && hasExternalData(proto)) checkExternalData(proto, dir, file);
  return { proto, file, dir };
}

function decodeChecked(bytes: Uint8Array, file: string): ModelProto {
  if (bytes.length === 0) throw new UserError("is empty, expected an ONNX model", file);
  let proto: ModelProto;
  try {
    proto = decodeModel(bytes);
  } catch (e) {
    throw new UserError(
      `is not a valid ONNX model (protobuf decode failed: ${(e as Error).message}); truncated or not ONNX?`,
      file,
    );
  }
  if (!proto.graph || proto.irVersion <= 0n || proto.opsetImport.length === 0) {
    throw new UserError("is not an ONNX model (no graph, IR version or opset import)", file);
  }
  return proto;
}

export function modelBytes(model: ModelFile | ModelProto): Uint8Array {
  return encodeModel("proto" in model ? model.proto : model);
}

export interface SaveOptions {
  /** Put large tensors in a side file next to the model (see external-data.ts); default: embed all. */
  externalData?: ExternalDataOptions;
}

/**
 * Writes the model atomically. By default every tensor is embedded: tensors that the source model keeps
 * as external data are read from its folder, unless the model is saved back into that same folder (then
 * its references stay valid and the file is written unchanged).
 */
export function saveModel(model: ModelFile | ModelProto, path: string, opts: SaveOptions = {}): void {
  const file: ModelFile = "proto" in model ? model : { proto: model, file: "<model>" };
  if (opts.externalData) return saveModelWithExternalData(file, path, opts.externalData);
  if (
    hasExternalData(file.proto) &&
    file.dir !== undefined &&
    !sameFolder(file.dir, dirname(resolveWriteTarget(path)))
  ) {
    const copy: ModelFile = { ...file, proto: cloneModel(file.proto) };
    embedExternalData(copy);
    return writeFileAtomic(path, modelBytes(copy));
  }
  writeFileAtomic(path, modelBytes(file));
}

function sameFolder(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
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
  for (const t of model.proto.graph!.initializer)
    out.set(t.name, readTensor(t, { baseDir: model.dir, file: model.file }));
  return out;
}

export const displayName = (model: ModelFile): string => (model.file === "<bytes>" ? "model" : basename(model.file));
