/**
 * PyTorch state_dict semantics for ONNX initializers. The model's "state" is every initializer that the
 * layer inventory assigns to a layer (weights, biases, BatchNormalization/LayerNorm tensors); other
 * initializers (shape constants, ...) are taken from the weights only when named there. Loading reports
 * what load_state_dict reports: missing keys (model state not in the weights), unexpected keys (weights
 * the model does not hold) and size mismatches. As in PyTorch, a size mismatch always fails and strict
 * mode also fails on missing or unexpected keys. Buffers an ONNX export never holds
 * (`*.num_batches_tracked`) are skipped and listed, never errors. Floating-point tensors are converted
 * to the initializer's type (float16 checkpoints load into float32 models).
 */
import { UserError } from "../errors.js";
import { layerInventory } from "../onnx/layers.js";
import type { ModelFile } from "../onnx/model-io.js";
import {
  asFloat32,
  float32ToHalf,
  readTensor,
  sameDims,
  writeTensorData,
  type DType,
  type Tensor,
} from "../onnx/tensor.js";

/** Buffers that PyTorch modules carry but ONNX exports never hold. */
const NEVER_IN_ONNX = [/(^|\.)num_batches_tracked$/];

export interface Mismatch {
  name: string;
  model: string;
  weights: string;
}

export interface ImportReport {
  /** Keys set in the model, in the model's initializer order. */
  loaded: string[];
  /** Model state keys the weights do not have. */
  missing: string[];
  /** Weight keys the model has no initializer for. */
  unexpected: string[];
  /** Keys whose shape or type cannot be loaded (always an error). */
  mismatched: Mismatch[];
  /** Weight keys skipped because ONNX never holds them (num_batches_tracked). */
  skipped: string[];
  /** Keys converted between floating-point types, e.g. "float16 -> float32". */
  converted: Map<string, string>;
}

export interface ImportOptions {
  /** Fail on missing or unexpected keys too (default false). Size mismatches always fail. */
  strict?: boolean;
  /** Name of the weights for messages (default "weights"). */
  source?: string;
}

/** Refuses a model in which two initializers share a name (weights could not be matched by name). */
function checkUniqueNames(model: ModelFile): void {
  const seen = new Set<string>();
  const dups = new Set<string>();
  for (const t of model.proto.graph!.initializer) (seen.has(t.name) ? dups : seen).add(t.name);
  if (dups.size)
    throw new UserError(`has several initializers named ${[...dups].map((d) => `'${d}'`).join(", ")}`, model.file);
}

/** Names of the model's state: the inventory's parameters, in initializer order. */
export function modelStateKeys(model: ModelFile): string[] {
  checkUniqueNames(model);
  const params = new Set(layerInventory(model).layers.flatMap((l) => l.params.map((p) => p.name)));
  return model.proto.graph!.initializer.map((t) => t.name).filter((n) => params.has(n));
}

/** The model's state as a name -> tensor map (all initializers with `all`). */
export function exportWeights(model: ModelFile, opts: { all?: boolean } = {}): Map<string, Tensor> {
  const keys = new Set(opts.all ? model.proto.graph!.initializer.map((t) => t.name) : modelStateKeys(model));
  const out = new Map<string, Tensor>();
  for (const t of model.proto.graph!.initializer) {
    if (keys.has(t.name)) out.set(t.name, readTensor(t, { baseDir: model.dir, file: model.file }));
  }
  return out;
}

/**
 * Sets the model's initializers from `weights` by name, in place, and returns the report. Throws a
 * UserError (and changes nothing) on size mismatches, and in strict mode on missing/unexpected keys.
 */
export function importWeights(model: ModelFile, weights: Map<string, Tensor>, opts: ImportOptions = {}): ImportReport {
  const source = opts.source ?? "weights";
  const stateKeys = new Set(modelStateKeys(model));
  const inits = model.proto.graph!.initializer;
  const byName = new Map(inits.map((t) => [t.name, t]));
  const report: ImportReport = {
    loaded: [],
    missing: [],
    unexpected: [],
    mismatched: [],
    skipped: [],
    converted: new Map(),
  };
  const updates = new Map<string, Tensor>();
  for (const [name, w] of weights) {
    const init = byName.get(name);
    if (!init) {
      if (NEVER_IN_ONNX.some((re) => re.test(name))) report.skipped.push(name);
      else report.unexpected.push(name);
      continue;
    }
    const current = readTensor(init, { baseDir: model.dir, file: model.file });
    const converted = sameDims(current.dims, w.dims) ? convert(w, current.dtype) : undefined;
    if (!converted) {
      report.mismatched.push({ name, model: describe(current), weights: describe(w) });
      continue;
    }
    if (w.dtype !== current.dtype) report.converted.set(name, `${w.dtype} -> ${current.dtype}`);
    updates.set(name, converted);
  }
  report.missing = [...stateKeys].filter((k) => !weights.has(k));
  report.loaded = inits.map((t) => t.name).filter((n) => updates.has(n));
  const problems: string[] = [];
  if (report.mismatched.length) {
    problems.push(
      `size/type mismatch for ${report.mismatched.map((m) => `${m.name} (weights ${m.weights}, model ${m.model})`).join(", ")}`,
    );
  }
  if (opts.strict && report.missing.length) problems.push(`missing keys: ${list(report.missing)}`);
  if (opts.strict && report.unexpected.length) problems.push(`unexpected keys: ${list(report.unexpected)}`);
  if (problems.length)
    throw new UserError(
      `cannot load into ${model.file}${opts.strict ? " (strict)" : ""}: ${problems.join("; ")}`,
      source,
    );
  for (const [name, t] of updates) writeTensorData(byName.get(name)!, t);
  return report;
}

const FLOATS = new Set<DType>(["float32", "float16", "float64"]);

function convert(w: Tensor, to: DType): Tensor | undefined {
  if (w.dtype === to) return w;
  if (!FLOATS.has(w.dtype) || !FLOATS.has(to)) return undefined;
  const f32 = asFloat32(w);
  const data = to === "float32" ? f32 : to === "float16" ? float32ToHalf(f32) : Float64Array.from(f32);
  return { dtype: to, dims: [...w.dims], data };
}

const describe = (t: Tensor) => `${t.dtype} [${t.dims.join(", ")}]`;

/** Up to 10 names, then a count. */
export function list(names: string[], max = 10): string {
  return names.length <= max ? names.join(", ") : `${names.slice(0, max).join(", ")} and ${names.length - max} more`;
}
