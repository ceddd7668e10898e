/**
 * Checks generated train-step graphs against PyTorch's own numbers (a `<model>.ref.safetensors` file, see
 * test/fixtures/pytorch/README.md): the loss, the train-mode logits, every parameter gradient, the BN
 * running statistics after one train-mode forward and, with `sgd`, the parameters after SGD steps
 * (lr 0.05, momentum 0.9, weight decay 5e-4, or the reference's own `sgd_lr`, `sgd_momentum`,
 * `sgd_weight_decay` scalars).
 *
 * Error per tensor (the criterion) = max|ours - torch| / max(max|torch|, floor), floor = `floor` (default 1)
 * times the largest |torch| of any tensor of the same kind (every parameter gradient, every BN statistic, ...):
 * by default each tensor's error is measured on its kind's scale, where float32 noise lives. A gradient that is
 * mathematically zero (a BatchNorm bias followed by a 1x1 conv and a training-mode BatchNorm) comes out of both
 * autograds as float noise (~1e-9 against a largest gradient of ~25): divided by its own max it is O(1),
 * divided by the floor it is what it is, noise. `floor` 1e-3 is stricter, 0 the plain relative error. Each
 * check also reports the plain relative error max|ours - torch| / max|torch|.
 */
import * as ort from "onnxruntime-node";
import { UserError } from "../../errors.js";
import { encodeModel, valueInfoDims } from "../../onnx/proto.js";
import type { ModelFile } from "../../onnx/model-io.js";
import { numel, type Tensor } from "../../onnx/tensor.js";
import { ortLogSeverity } from "../ort-log.js";
import { fromOrt, toOrt } from "../ort-tensor.js";
import { buildArtifacts } from "./build.js";
import type { Manifest } from "./manifest.js";
import type { BatchNormForm } from "./train-mode.js";

/** The reference run's SGD settings (README of the fixtures), unless the reference holds its own. */
export const TORCH_SGD = { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 } as const;

type SgdSettings = { lr: number; momentum: number; weightDecay: number };

/** The optional scalars `sgd_lr`, `sgd_momentum`, `sgd_weight_decay` of a reference, else TORCH_SGD's. */
function sgdOf(ref: Map<string, Tensor>): SgdSettings {
  const scalar = (key: string, fallback: number) => {
    const t = ref.get(key);
    return t && t.data.length === 1 ? Number(t.data[0]) : fallback;
  };
  return {
    lr: scalar("sgd_lr", TORCH_SGD.lr),
    momentum: scalar("sgd_momentum", TORCH_SGD.momentum),
    weightDecay: scalar("sgd_weight_decay", TORCH_SGD.weightDecay),
  };
}

export interface VerifyTorchOptions {
  model: ModelFile;
  /** The reference tensors (readSafetensors(...).tensors) and their file name for messages. */
  ref: Map<string, Tensor>;
  refFile: string;
  loss: "mse" | "ce";
  /** Also check SGD steps. Default false. */
  sgd?: boolean;
  /** Default 1e-3. */
  tol?: number;
  /** The scale floor as a fraction of the kind's largest |torch| (see the file comment). Default 1. */
  floor?: number;
  batchNorm?: BatchNormForm;
  /** Run convs on tiny maps as dense Gemms (BuildOptions.denseConvs). Default true. */
  denseConvs?: boolean;
}

export interface TensorCheck {
  kind: string;
  name: string;
  /** max|ours - torch| / max(max|torch|, floor of the kind): the criterion. */
  error: number;
  /** max|ours - torch| / max|torch| (max|ours - torch| when torch's tensor is all zeros). */
  relative: number;
  /** max|ours - torch| and max|torch|. */
  maxDiff: number;
  maxTorch: number;
}
export interface KindSummary {
  kind: string;
  count: number;
  /** The floor: `floor` times the largest |torch| of the kind. */
  floor: number;
  /** The tensor with the largest error, and the one with the largest relative error. */
  worst: TensorCheck;
  worstRelative: TensorCheck;
}
export interface VerifyReport {
  ok: boolean;
  tol: number;
  /** The scale floor as a fraction of each kind's largest |torch|. */
  floor: number;
  kinds: KindSummary[];
  failed: TensorCheck[];
  tensors: TensorCheck[];
}

export async function verifyTorch(opts: VerifyTorchOptions): Promise<VerifyReport> {
  const tol = opts.tol ?? 1e-3;
  const floor = opts.floor ?? DEFAULT_FLOOR;
  const sgd = sgdOf(opts.ref);
  const { trainStep, initialState, manifest } = await buildArtifacts(opts.model, {
    loss: opts.loss,
    optimizer: "sgd",
    gradients: true,
    batchNorm: opts.batchNorm,
    denseConvs: opts.denseConvs,
    hyper: { momentum: sgd.momentum, weightDecay: sgd.weightDecay, nesterov: false },
  });
  const ref = checkReference(opts, manifest);
  const session = await ort.InferenceSession.create(encodeModel(trainStep), { logSeverityLevel: ortLogSeverity() });
  const checks: Compared[] = [];
  const check = (kind: string, name: string, ours: Tensor | undefined, torch: Tensor) =>
    checks.push({ kind, name, ...compare(ours!, torch) });
  const state = new Map(initialState);
  const targets = opts.loss === "mse" ? ref("teacher_logits") : ref("labels");
  const out1 = await runStep(session, manifest, state, ref("input_noisy"), targets, sgd.lr);
  check(`loss_${opts.loss}`, `loss_${opts.loss}`, out1.get(manifest.outputs.loss), ref(`loss_${opts.loss}`));
  check("train_logits", "train_logits", out1.get(manifest.outputs.logits), ref("train_logits"));
  for (const [param, output] of Object.entries(manifest.outputs.gradients!))
    check(`grad_${opts.loss}`, param, out1.get(output), ref(`grad_${opts.loss}/${param}`));
  for (const s of manifest.state.filter((e) => e.role.startsWith("bn_running")))
    check("buffer_after", s.name, out1.get(s.output), ref(`buffer_after/${s.name}`));
  if (opts.sgd) {
    const params = manifest.state.filter((s) => s.role === "param");
    if (opts.loss === "mse") {
      for (const s of params) check("sgd_after", s.name, out1.get(s.output), ref(`sgd_after/${s.name}`));
      for (const s of manifest.state) state.set(s.name, out1.get(s.output)!);
      const out2 = await runStep(session, manifest, state, ref("input_noisy"), targets, sgd.lr);
      check("loss_mse_step2", "loss_mse_step2", out2.get(manifest.outputs.loss), ref("loss_mse_step2"));
      for (const s of params) check("sgd_after2", s.name, out2.get(s.output), ref(`sgd_after2/${s.name}`));
    } else {
      // no SGD run on CE in the reference: check our step against torch's rule applied to torch's gradient
      for (const s of params)
        check(
          "sgd_after_ce",
          s.name,
          out1.get(s.output),
          sgdFromTorchGrad(initialState.get(s.name)!, ref(`grad_ce/${s.name}`), sgd),
        );
    }
  }
  await session.release();
  return summarize(checks, tol, floor);
}

/** The default scale floor, a fraction of the kind's largest |torch|. */
export const DEFAULT_FLOOR = 1;

interface Compared {
  kind: string;
  name: string;
  maxDiff: number;
  maxTorch: number;
}

async function runStep(
  session: ort.InferenceSession,
  m: Manifest,
  state: Map<string, Tensor>,
  batch: Tensor,
  targets: Tensor,
  lr: number,
): Promise<Map<string, Tensor>> {
  const feeds: Record<string, ort.Tensor> = {
    [m.inputs.batch]: toOrt(batch),
    [m.inputs.targets!]: toOrt(targets),
    [m.inputs.lr]: new ort.Tensor("float32", Float32Array.of(lr), []),
  };
  for (const s of m.state) feeds[s.name] = toOrt(state.get(s.name)!);
  const out = await session.run(feeds);
  return new Map(Object.entries(out).map(([k, v]) => [k, fromOrt(v)]));
}

/** torch.optim.SGD's first step (buf = d): p - lr * (g + wd * p), in float32 as torch computes it. */
function sgdFromTorchGrad(p: Tensor, g: Tensor, sgd: SgdSettings): Tensor {
  const pd = p.data as Float32Array;
  const gd = g.data as Float32Array;
  const f = Math.fround;
  const out = pd.map((x, i) => f(x - f(f(sgd.lr) * f(gd[i]! + f(f(sgd.weightDecay) * x)))));
  return { dtype: "float32", dims: p.dims, data: out };
}

/** max|a - b| (Infinity when a NaN or a length differs) and max|b|. */
function compare(a: Tensor, b: Tensor): { maxDiff: number; maxTorch: number } {
  const ad = a.data as Float32Array;
  const bd = b.data as Float32Array;
  if (ad.length !== bd.length) return { maxDiff: Infinity, maxTorch: 0 };
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < bd.length; i++) {
    const d = Math.abs(ad[i]! - bd[i]!);
    diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
    scale = Math.max(scale, Math.abs(bd[i]!));
  }
  return { maxDiff: diff, maxTorch: scale };
}

/** max|a - b| / max|b| (max|a - b| when b is all zeros). */
export function relError(a: Tensor, b: Tensor): number {
  const { maxDiff, maxTorch } = compare(a, b);
  return maxTorch > 0 ? maxDiff / maxTorch : maxDiff;
}

/** Each tensor's errors (the floor from its kind's largest |torch|), the per-kind worst, the failures. */
export function summarize(compared: Compared[], tol: number, floor = DEFAULT_FLOOR): VerifyReport {
  const kindMax = new Map<string, number>();
  for (const c of compared) kindMax.set(c.kind, Math.max(kindMax.get(c.kind) ?? 0, c.maxTorch));
  const tensors: TensorCheck[] = compared.map((c) => {
    const scale = Math.max(c.maxTorch, floor * kindMax.get(c.kind)!);
    return {
      ...c,
      error: scale > 0 ? c.maxDiff / scale : c.maxDiff,
      relative: c.maxTorch > 0 ? c.maxDiff / c.maxTorch : c.maxDiff,
    };
  });
  const kinds: KindSummary[] = [];
  for (const t of tensors) {
    const k = kinds.find((x) => x.kind === t.kind);
    if (!k) kinds.push({ kind: t.kind, count: 1, floor: floor * kindMax.get(t.kind)!, worst: t, worstRelative: t });
    else {
      k.count++;
      if (t.error > k.worst.error) k.worst = t;
      if (t.relative > k.worstRelative.relative) k.worstRelative = t;
    }
  }
  const failed = tensors.filter((t) => !(t.error <= tol));
  return { ok: failed.length === 0, tol, floor, kinds, failed, tensors };
}

/** Checks that the reference holds every tensor we compare, with our shapes; lists every problem at once. */
function checkReference(opts: VerifyTorchOptions, m: Manifest): (key: string) => Tensor {
  const problems: string[] = [];
  const expect = (key: string, dims?: number[], dtype = "float32") => {
    const t = opts.ref.get(key);
    if (!t) problems.push(`'${key}' is missing`);
    else if (t.dtype !== dtype) problems.push(`'${key}' is ${t.dtype}, expected ${dtype}`);
    else if (dims && (t.dims.length !== dims.length || t.dims.some((d, i) => d !== dims[i])))
      problems.push(`'${key}' has shape [${t.dims}], the model's is [${dims}]`);
  };
  expect("input_noisy");
  expect(opts.loss === "mse" ? "teacher_logits" : "labels", undefined, opts.loss === "mse" ? "float32" : "int64");
  expect("train_logits");
  expect(`loss_${opts.loss}`, undefined);
  const params = m.state.filter((s) => s.role === "param");
  for (const s of params) expect(`grad_${opts.loss}/${s.name}`, s.dims);
  const ours = new Set(params.map((s) => s.name));
  const extra = [...opts.ref.keys()].filter(
    (k) => k.startsWith(`grad_${opts.loss}/`) && !ours.has(k.slice(opts.loss.length + 6)),
  );
  if (extra.length)
    problems.push(`the reference has gradients for tensors the model does not train: ${extra.join(", ")}`);
  for (const s of m.state.filter((e) => e.role.startsWith("bn_running"))) expect(`buffer_after/${s.name}`, s.dims);
  if (opts.sgd && opts.loss === "mse") {
    expect("loss_mse_step2");
    for (const s of params) for (const k of ["sgd_after", "sgd_after2"]) expect(`${k}/${s.name}`, s.dims);
  }
  const batch = opts.ref.get("input_noisy");
  const declared = opts.model.proto.graph!.input.find((i) => i.name === m.inputs.batch);
  const dims = declared ? valueInfoDims(declared) : undefined;
  if (
    batch &&
    dims &&
    (dims.length !== batch.dims.length || dims.some((d, i) => typeof d === "number" && d !== batch.dims[i]))
  ) {
    problems.push(
      `input_noisy has shape [${batch.dims}], the model's input '${m.inputs.batch}' is [${dims.map((d) => d ?? "?")}]`,
    );
  }
  const logits = opts.ref.get("train_logits");
  if (batch && logits && batch.dims[0] !== logits.dims[0])
    problems.push(`batch of ${batch.dims[0]} but ${logits.dims[0]} logits rows`);
  if (logits && logits.dims.at(-1) !== m.source.numClasses)
    problems.push(`train_logits has ${logits.dims.at(-1)} classes, the model ${m.source.numClasses}`);
  if (problems.length) throw new UserError(`does not fit ${m.source.file}: ${problems.join("; ")}`, opts.refFile);
  return (key) => {
    const t = opts.ref.get(key)!;
    return numel(t.dims) === 1 && key.startsWith("loss") ? { ...t, dims: [] } : t;
  };
}
