/**
 * Reads a weights file of any supported format into a flat name -> tensor map: safetensors, or a
 * torch.save file (zip or legacy) holding a state_dict, or a checkpoint dict with the state_dict under
 * `key`. The format is recognised from the bytes, not the file name.
 */
import { UserError } from "../errors.js";
import { readInputFile } from "../io/read-input.js";
import { readSafetensors } from "../io/safetensors.js";
import { isTensor, readTorchFile } from "../io/torch/checkpoint.js";
import type { Tensor } from "../io/tensor-data.js";
import { isZip } from "../io/torch/zip.js";

export type WeightsFormat = "safetensors" | "torch-zip" | "torch-legacy";

export interface WeightsFile {
  format: WeightsFormat;
  tensors: Map<string, Tensor>;
  /** Entries of the state_dict that are not tensors (e.g. `_extra_state` values); not imported. */
  nonTensors: string[];
}

export interface ReadWeightsOptions {
  /** For a checkpoint dict: the entry that holds the state_dict (e.g. "model_state_dict"); dots descend. */
  key?: string;
}

export function readWeightsFile(path: string, opts: ReadWeightsOptions = {}): WeightsFile {
  const bytes = readInputFile(path, "the weights file");
  if (!isZip(bytes) && bytes[0] !== 0x80) {
    if (opts.key !== undefined)
      throw new UserError(`--key applies to torch.save checkpoints; this is a safetensors file`, path);
    return { format: "safetensors", tensors: readSafetensors(bytes, { name: path }).tensors, nonTensors: [] };
  }
  const format: WeightsFormat = isZip(bytes) ? "torch-zip" : "torch-legacy";
  const value = readTorchFile(bytes, { name: path });
  return { format, ...stateDictOf(value, path, opts.key) };
}

function stateDictOf(root: unknown, file: string, key: string | undefined) {
  let value = root;
  if (key !== undefined) {
    for (const part of key.split(".")) {
      if (!(value instanceof Map) || !value.has(part)) {
        const keys = value instanceof Map ? [...value.keys()].map(String).join(", ") : "none: not a dict";
        throw new UserError(`has no entry '${key}' (keys: ${keys})`, file);
      }
      value = value.get(part);
    }
  }
  if (!(value instanceof Map))
    throw new UserError(`${key ? `entry '${key}'` : "the saved object"} is not a dict of tensors`, file);
  const entries = [...value.entries()];
  const tensorCount = entries.filter(([, v]) => isTensor(v)).length;
  if (tensorCount === 0 || (key === undefined && tensorCount < entries.length / 2)) {
    const dicts = entries.filter(([, v]) => v instanceof Map && [...v.values()].some(isTensor)).map(([k]) => String(k));
    const hint = dicts.length ? `; pick the state_dict with --key (candidates: ${dicts.join(", ")})` : "";
    throw new UserError(
      `${key ? `entry '${key}'` : "the saved object"} is not a state_dict (keys: ${entries.map(([k]) => String(k)).join(", ")})${hint}`,
      file,
    );
  }
  const tensors = new Map<string, Tensor>();
  const nonTensors: string[] = [];
  for (const [k, v] of entries) {
    if (typeof k !== "string") throw new UserError(`state_dict key ${String(k)} is not a string`, file);
    if (isTensor(v)) tensors.set(k, v);
    else nonTensors.push(k);
  }
  return { tensors, nonTensors };
}
