/**
 * manifest.json: what a runtime needs to drive train_step.onnx and eval.onnx without reading the graphs.
 * Documented in docs/artifacts.md; `version` changes whenever a field changes meaning.
 */
import { UserError } from "../../errors.js";
import type { DType } from "../../onnx/tensor.js";
import type { LossKind } from "./losses.js";
import type { OptimizerHyper, OptimizerKind, OptimizerRole } from "./optimizers.js";
import type { BatchNormForm } from "./train-mode.js";

export const MANIFEST_VERSION = 1;

export type StateRole = "param" | "bn_running_mean" | "bn_running_var" | OptimizerRole;

export interface StateEntry {
  /** Input name in train_step.onnx (and in eval.onnx for params and BN statistics); key in state.safetensors. */
  name: string;
  role: StateRole;
  /** The source model's initializer this tensor corresponds to (params, BN statistics), else null. */
  initializer: string | null;
  /** For optimizer buffers: the parameter they belong to. */
  param: string | null;
  dtype: DType;
  dims: number[];
  /** Output of train_step.onnx holding the updated value. */
  output: string;
  /** Whether eval.onnx takes it as an input. */
  eval: boolean;
}

export interface Manifest {
  version: number;
  /** `initializers`: the source's initializer names in file order, so an exported model keeps that order. */
  source: {
    file: string;
    inputName: string;
    outputName: string;
    opset: number;
    irVersion: number;
    numClasses: number;
    initializers?: string[];
  };
  loss: LossKind;
  optimizer: OptimizerKind;
  teacher: boolean;
  batchNorm: BatchNormForm;
  hyper: OptimizerHyper & { dropoutSeed: number };
  /** Train-step inputs besides the state. targets is null with the teacher (the model computes them). */
  inputs: { batch: string; targets: string | null; lr: string; classWeights: string | null };
  /** Train-step outputs besides the new state. gradients: param -> output, only when built with them. */
  outputs: {
    loss: string;
    logits: string;
    teacherLogits: string | null;
    gradients: Record<string, string> | null;
    /** The sum of every updated state tensor: finite exactly when none holds NaN or an infinity (barring an
     *  overflow of the sum itself); absent in older manifests. */
    stateSum?: string;
  };
  eval: { input: string; output: string };
  files: { trainStep: string; eval: string; state: string };
  /** Node counts of the generated graphs. */
  nodes: { source: number; trainStep: number; eval: number };
  /** Source Conv nodes the train step runs as dense Gemms (dense-convs.ts); absent in older manifests. */
  denseConvs?: string[];
  /** Student convs whose forward runs with the batch folded into depth (fold-convs.ts). */
  foldedConvs?: string[];
  /** Student convs whose forward is a MatMul over their weight gradient's im2col columns (shared-im2col.ts). */
  sharedIm2col?: string[];
  state: StateEntry[];
}

/** Parses and checks manifest.json text; lists every problem at once. */
export function parseManifest(text: string, file: string): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch (e) {
    throw new UserError(`is not JSON (${(e as Error).message})`, file);
  }
  const problems: string[] = [];
  if (typeof m !== "object" || m === null) throw new UserError("is not a manifest object", file);
  if (m.version !== MANIFEST_VERSION) problems.push(`version ${String(m.version)}, expected ${MANIFEST_VERSION}`);
  for (const k of ["source", "inputs", "outputs", "eval", "files", "hyper"] as const)
    if (typeof m[k] !== "object" || m[k] === null) problems.push(`'${k}' is missing`);
  if (!Array.isArray(m.state)) problems.push("'state' is not a list");
  else {
    const seen = new Set<string>();
    m.state.forEach((s, i) => {
      if (typeof s?.name !== "string" || typeof s.output !== "string" || !Array.isArray(s.dims))
        problems.push(`state[${i}] lacks name/output/dims`);
      else if (seen.has(s.name)) problems.push(`state '${s.name}' is listed twice`);
      else seen.add(s.name);
    });
  }
  if (problems.length) throw new UserError(`invalid artifacts manifest: ${problems.join("; ")}`, file);
  return m;
}
