/**
 * Session state on disk, as safetensors. A state file holds every state tensor under its state name plus
 * metadata (kind, step count); a parameter file holds the model tensors under the source model's names, the
 * way a PyTorch state_dict names them (so the PyTorch fixtures' weights load). Loading checks the file
 * against this model and lists every mismatch: a file from another model is refused, never half-applied.
 */
import { readSafetensors, writeSafetensors } from "../../io/safetensors.js";
import { UserError } from "../../errors.js";
import type { Tensor } from "../../onnx/tensor.js";
import type { StateSpec } from "./contract.js";

/** The same kind the artifacts folder's state.safetensors carries, so that file loads as a state too (step 0). */
const STATE_KIND = "onnx-unlearn-state";
const PARAMS_KIND = "onnx-unlearn/parameters";
/** PyTorch's BatchNorm counter: in state_dicts, not in ONNX models; ignored on load. */
const IGNORED = /(^|\.)num_batches_tracked$/;

/** Writes a state file; `extra` metadata (e.g. where a run is) goes beside the file's own format, step and source. */
export function writeStateFile(
  path: string,
  state: Map<string, Tensor>,
  stepCount: number,
  source: string | undefined,
  extra: Record<string, string> = {},
): void {
  writeSafetensors(path, state, {
    ...extra,
    format: STATE_KIND,
    step: String(stepCount),
    ...(source ? { source } : {}),
  });
}

export function writeParameterFile(path: string, params: Map<string, Tensor>, source: string | undefined): void {
  writeSafetensors(path, params, { format: PARAMS_KIND, ...(source ? { source } : {}) });
}

/** Reads a state file and checks it holds exactly this model's state tensors. */
export function readStateFile(
  path: string,
  specs: readonly StateSpec[],
): { state: Map<string, Tensor>; stepCount: number; metadata: Record<string, string> } {
  const { tensors, metadata } = readSafetensors(path);
  checkStateKind(path, metadata);
  checkAgainst(
    path,
    tensors,
    specs.map((s) => ({ key: s.name, dtype: s.dtype, dims: s.dims })),
    metadata.source,
  );
  const stepCount = Number(metadata.step ?? "0");
  return { state: tensors, stepCount: Number.isInteger(stepCount) && stepCount >= 0 ? stepCount : 0, metadata };
}

/** The metadata of a state file (refused when it is not one), without checking its tensors against a model. */
export function readStateMetadata(path: string): Record<string, string> {
  const { metadata } = readSafetensors(path);
  checkStateKind(path, metadata);
  return metadata;
}

function checkStateKind(path: string, metadata: Record<string, string>): void {
  if (metadata.format !== STATE_KIND) {
    const hint = metadata.format === PARAMS_KIND ? " (it is a parameter file: use loadParameters)" : "";
    throw new UserError(`is not an onnx-unlearn training state file${hint}`, path);
  }
}

/** Reads a parameter file (ours, or any safetensors state_dict with the model's names). */
export function readParameterFile(path: string, specs: readonly StateSpec[]): Map<string, Tensor> {
  const { tensors, metadata } = readSafetensors(path);
  for (const k of [...tensors.keys()]) if (IGNORED.test(k)) tensors.delete(k);
  const expected = specs
    .filter((s) => s.initializer !== null)
    .map((s) => ({ key: s.initializer!, dtype: s.dtype, dims: s.dims }));
  checkAgainst(path, tensors, expected, metadata.source);
  return tensors;
}

function checkAgainst(
  path: string,
  tensors: Map<string, Tensor>,
  expected: { key: string; dtype: string; dims: number[] }[],
  source: string | undefined,
): void {
  const problems: string[] = [];
  const want = new Map(expected.map((e) => [e.key, e]));
  const missing = expected.filter((e) => !tensors.has(e.key)).map((e) => e.key);
  const unexpected = [...tensors.keys()].filter((k) => !want.has(k));
  const list = (xs: string[]) =>
    xs
      .slice(0, 5)
      .map((x) => `'${x}'`)
      .join(", ") + (xs.length > 5 ? ` and ${xs.length - 5} more` : "");
  if (missing.length) problems.push(`missing ${missing.length} tensor(s) of this model: ${list(missing)}`);
  if (unexpected.length) problems.push(`${unexpected.length} tensor(s) this model does not have: ${list(unexpected)}`);
  for (const [k, t] of tensors) {
    const e = want.get(k);
    if (!e) continue;
    if (t.dtype !== e.dtype) problems.push(`'${k}' is ${t.dtype}, expected ${e.dtype}`);
    else if (t.dims.join(",") !== e.dims.join(",")) problems.push(`'${k}' has dims [${t.dims}], expected [${e.dims}]`);
  }
  if (problems.length) {
    const from = source ? ` (saved from ${source})` : "";
    throw new UserError(`does not match this model${from}: ${problems.join("; ")}`, path);
  }
}
