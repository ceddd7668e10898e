/**
 * ONNX external data: tensors whose bytes live in a side file next to the model (`location`, `offset`,
 * `length` in TensorProto.external_data). Locations are resolved inside the model's folder only; one that
 * escapes it (`../x`, an absolute path) is refused. Writing puts every tensor at or above a size threshold
 * into one side file, then writes the model; both writes are atomic.
 */
import { statSync } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { UserError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import type { ModelFile } from "./model-io.js";
import {
  cloneModel,
  DataLocation,
  encodeModel,
  newEntry,
  type GraphProto,
  type ModelProto,
  type TensorProto,
} from "./proto.js";
import {
  bytesPerElement,
  dtypeFromOnnx,
  externalDataRef,
  externalPath,
  externalRange,
  numel,
  readTensor,
  toBytes,
  writeTensorData,
} from "./tensor.js";

/** Every initializer of the graph and of its subgraphs (If/Loop/Scan bodies). */
export function allInitializers(graph: GraphProto): TensorProto[] {
  const out = [...graph.initializer];
  for (const n of graph.node) {
    for (const a of n.attribute) {
      if (a.g) out.push(...allInitializers(a.g));
      for (const g of a.graphs) out.push(...allInitializers(g));
    }
  }
  return out;
}

export const isExternal = (t: TensorProto): boolean => t.dataLocation === DataLocation.EXTERNAL;
export const hasExternalData = (model: ModelProto): boolean =>
  !!model.graph && allInitializers(model.graph).some(isExternal);

/**
 * Checks that every external tensor's file exists inside `dir` and that its byte range fits in it.
 * Throws one UserError listing every problem.
 */
export function checkExternalData(model: ModelProto, dir: string | undefined, file: string): void {
  const problems: string[] = [];
  const sizes = new Map<string, number | undefined>();
  for (const t of model.graph ? allInitializers(model.graph) : []) {
    if (!isExternal(t)) continue;
    const ref = externalDataRef(t);
    const { location } = ref;
    if (location === undefined) {
      problems.push(`initializer '${t.name}' has external data without a location`);
      continue;
    }
    if (dir === undefined) {
      problems.push(`initializer '${t.name}' has external data but the model was given as bytes`);
      continue;
    }
    let path: string;
    try {
      path = externalPath(location, dir, `initializer '${t.name}'`);
    } catch (e) {
      problems.push((e as Error).message);
      continue;
    }
    if (!sizes.has(path)) {
      try {
        const st = statSync(path);
        sizes.set(path, st.isFile() ? st.size : undefined);
      } catch {
        sizes.set(path, undefined);
      }
    }
    const size = sizes.get(path);
    if (size === undefined) {
      problems.push(`initializer '${t.name}': external data file '${location}' is missing`);
      continue;
    }
    const { problem } = externalRange(ref, size);
    if (problem) problems.push(`initializer '${t.name}': ${problem}`);
  }
  if (problems.length) throw new UserError(problems.join("; "), file);
}

/** Reads every external tensor of the model into raw_data, in place; afterwards the model stands alone. */
export function embedExternalData(model: ModelFile): void {
  for (const t of allInitializers(model.proto.graph!)) {
    if (isExternal(t)) writeTensorData(t, readTensor(t, { baseDir: model.dir, file: model.file }));
  }
}

export interface ExternalDataOptions {
  /** Side file name, relative to the model's folder (default: `<model file name>.data`). */
  location?: string;
  /** Tensors of at least this many bytes go to the side file (default 1024). */
  threshold?: number;
  /** Offsets in the side file are multiples of this (default 64). */
  align?: number;
}

/**
 * Saves `model` to `path` with large tensors in a side file. The source model is not changed; tensors
 * that were external in the source are read from its folder first.
 */
export function saveModelWithExternalData(model: ModelFile, path: string, opts: ExternalDataOptions = {}): void {
  const location = opts.location ?? `${basename(path)}.data`;
  const threshold = opts.threshold ?? 1024;
  const align = opts.align ?? 64;
  const dir = dirname(resolve(path));
  const dataPath = externalPath(location, dir, path);
  if (resolve(dataPath) === resolve(path))
    throw new UserError(`external data location '${location}' is the model file itself`, path);
  const out = cloneModel(model.proto);
  const source = allInitializers(model.proto.graph!);
  const chunks: Uint8Array[] = [];
  let pos = 0;
  allInitializers(out.graph!).forEach((t, i) => {
    const bytesNeeded = tensorByteSize(t);
    if (bytesNeeded !== undefined && bytesNeeded < threshold) {
      if (isExternal(t)) writeTensorData(t, readTensor(source[i]!, { baseDir: model.dir, file: model.file }));
      return;
    }
    const tensor = readTensor(source[i]!, { baseDir: model.dir, file: model.file });
    writeTensorData(t, tensor);
    const pad = (align - (pos % align)) % align;
    if (pad) chunks.push(new Uint8Array(pad));
    pos += pad;
    const bytes = toBytes(tensor.data);
    chunks.push(bytes);
    t.rawData = new Uint8Array(0);
    t.dataLocation = DataLocation.EXTERNAL;
    t.externalData = [
      newEntry("location", location),
      newEntry("offset", String(pos)),
      newEntry("length", String(bytes.length)),
    ];
    pos += bytes.length;
  });
  if (chunks.length) writeFileAtomic(dataPath, chunks);
  writeFileAtomic(path, encodeModel(out));
}

/** Bytes the tensor's values take, or undefined for a data type without a host dtype (strings, ...). */
function tensorByteSize(t: TensorProto): number | undefined {
  const dtype = dtypeFromOnnx(t.dataType);
  return dtype && numel(t.dims.map(Number)) * bytesPerElement(dtype);
}
