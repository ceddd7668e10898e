/**
 * ONNX external data: tensors whose bytes live in a side file next to the model (`location`, `offset`,
 * `length` in TensorProto.external_data). Locations are resolved inside the model's folder only: an empty or
 * absolute location, a `..` segment, or a symbolic link whose target lies outside the folder is refused
 * (src/io/paths.ts). Each side file is read once however many tensors it holds. Writing puts every tensor at or
 * above a size threshold into one side file, then writes the model; both writes are atomic.
 */
import { realpathSync, statSync } from "node:fs";
import { basename, dirname } from "node:path";
import { UserError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { confineExisting, isInside, resolveWriteTarget, sameFile } from "../io/paths.js";
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
 * Checks that every external tensor's file lies inside `dir` (links resolved) and that its byte range fits in
 * it. Throws one UserError listing every problem.
 */
export function checkExternalData(model: ModelProto, dir: string | undefined, file: string): void {
  const problems: string[] = [];
  const files = new Map<string, { path?: string; problem?: string; size?: number }>();
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
    let f = files.get(location);
    if (!f) {
      f = confineExisting(dir, location);
      if (f.path !== undefined) f.size = statSync(f.path).size;
      files.set(location, f);
    }
    if (f.problem !== undefined) {
      problems.push(`initializer '${t.name}': external data ${f.problem}`);
      continue;
    }
    const { problem } = externalRange(ref, f.size!);
    if (problem) problems.push(`initializer '${t.name}': ${problem}`);
  }
  if (problems.length) throw new UserError(problems.join("; "), file);
}

/** The real paths of the side files the model's external tensors read (those that resolve inside its folder). */
export function externalDataFiles(model: ModelFile): string[] {
  const out = new Set<string>();
  if (model.dir === undefined || !model.proto.graph) return [];
  for (const t of allInitializers(model.proto.graph)) {
    const location = isExternal(t) ? externalDataRef(t).location : undefined;
    if (location === undefined) continue;
    const { path } = confineExisting(model.dir, location);
    if (path !== undefined) out.add(path);
  }
  return [...out];
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
  const target = resolveWriteTarget(path);
  const location = opts.location ?? `${basename(target)}.data`;
  const threshold = opts.threshold ?? 1024;
  const align = opts.align ?? 64;
  const dir = dirname(target);
  const dataPath = resolveWriteTarget(externalPath(location, dir, path));
  if (!isInside(realpathSync(dir), dataPath))
    throw new UserError(`external data location '${location}' leaves the model's folder through a symbolic link`, path);
  if (sameFile(dataPath, target))
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
  writeFileAtomic(target, encodeModel(out));
}

/** Bytes the tensor's values take, or undefined for a data type without a host dtype (strings, ...). */
function tensorByteSize(t: TensorProto): number | undefined {
  const dtype = dtypeFromOnnx(t.dataType);
  return dtype && numel(t.dims.map(Number)) * bytesPerElement(dtype);
}
