/**
 * The model matrix's checks, one export at a time (used by scripts/models/run-matrix.ts, which writes
 * docs/models.md, and by test/training/artifacts/model-matrix.test.ts over the fixtures):
 * - inspect: the layer inventory's roles equal the roles written from the PyTorch module tree (<model>.roles.json);
 * - artifacts: the training artifacts build (ops without a gradient rule are refused here, naming node and op);
 * - gradients: verify-torch (loss, logits, every gradient, BN statistics, two SGD steps) for MSE and CE;
 * - train: a few cross-entropy steps (fitClassifier), then the exported model in a plain InferenceSession with the
 *   source's input and output names;
 * - unlearn steps: the method's train step (MSE to the embedded frozen teacher, Gaussian input noise).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { MemoryExamples } from "../../src/data/memory-examples.js";
import { readSafetensors } from "../../src/io/safetensors.js";
import { layerInventory } from "../../src/onnx/layers.js";
import { loadModel, type ModelFile } from "../../src/onnx/model-io.js";
import { encodeModel } from "../../src/onnx/proto.js";
import { float32 } from "../../src/onnx/tensor.js";
import { buildArtifacts } from "../../src/training/artifacts/index.js";
import { verifyTorch, type VerifyReport } from "../../src/training/artifacts/verify-torch.js";
import { fitClassifier } from "../../src/training/fit.js";
import { TrainingSession } from "../../src/training/session/index.js";

export const EXPORTS = ["ts-eval", "ts-preserve", "ts-preserve-op13"] as const;
export type ExportKind = (typeof EXPORTS)[number];

export interface ExpectedRoles {
  model: string;
  what: string;
  input: number[];
  classes: number;
  parameters: number;
  /** PyTorch's own float32 run against the float64 reference, worst error per kind (verify-torch's measure). */
  torchFloat32Error?: { preserve: Record<string, number>; eval: Record<string, number> };
  /** The reference batch's closest kink (ReLU-type input, MaxPool top-two gap), preserve and BN-folded form. */
  nearestKink?: Record<"preserve" | "eval", Kink | null>;
  /** How the reference batch was chosen (make-matrix.py choose_batch). */
  reference?: ReferenceChoice;
  /** The residual branches' last BN weight factor of the model's init (make-matrix.py BRANCH_SCALE). */
  branchScale?: number;
  layers: { module: string; type: string; role: string }[];
}

export interface Kink {
  /** Smallest distance to a kink relative to its tensor's largest |value|, and where. */
  distance: number;
  module: string;
  /** Smallest ratio of that distance to PyTorch's float32 forward error at the tensor, where, and that error. */
  ratio?: number;
  ratioModule?: string;
  float32Error?: number;
}

export interface ReferenceChoice {
  seed: number;
  batch: number;
  /** PyTorch's float32 run within float32Tolerance on every kind, every kink kinkMargin x its float32 error away. */
  wellPosed: boolean;
  why: string;
  float32Tolerance: number;
  kinkMargin: number;
  seedsPerBatchSize: number;
  batchSizes: number[];
  /** Every batch tried, in order, with why it was rejected ("well-posed" for the one taken). */
  tried: { batch: number; seed: number; why: string }[];
}

export interface MatrixModel {
  name: string;
  dir: string;
  roles: ExpectedRoles;
  /** Export files present, by kind. */
  exports: Partial<Record<ExportKind, string>>;
}

/** Models with a <name>.roles.json in any of `dirs` (a model's files may be split over a fixture dir and a big dir). */
export function findModels(dirs: string[]): MatrixModel[] {
  const byName = new Map<string, MatrixModel>();
  for (const dir of dirs.filter((d) => existsSync(d))) {
    for (const f of readdirSync(dir).sort()) {
      const m = f.match(/^(.+)\.roles\.json$/);
      if (m && !byName.has(m[1]!))
        byName.set(m[1]!, {
          name: m[1]!,
          dir,
          roles: JSON.parse(readFileSync(join(dir, f), "utf8")) as ExpectedRoles,
          exports: {},
        });
    }
  }
  for (const model of byName.values())
    for (const kind of EXPORTS) {
      const file = dirs.map((d) => join(d, `${model.name}.${kind}.onnx`)).find((p) => existsSync(p));
      if (file) model.exports[kind] = file;
    }
  return [...byName.values()];
}

/** The reference of an export (preserve exports share one; the eval export has its own), if present. */
export function referenceFile(dirs: string[], model: string, kind: ExportKind): string | undefined {
  const name = kind === "ts-eval" ? `${model}.ts-eval.ref.safetensors` : `${model}.ref.safetensors`;
  return dirs.map((d) => join(d, name)).find((p) => existsSync(p));
}

export interface InspectResult {
  ok: boolean;
  layers: number;
  counts: Record<string, number>;
  /** Layers whose role differs from the module tree's, and weighted modules that are no layer. */
  problems: string[];
}

export function checkRoles(file: string, expected: ExpectedRoles): InspectResult {
  const inv = layerInventory(loadModel(file));
  const want = new Map(expected.layers.map((l) => [l.module, l]));
  const problems: string[] = [];
  for (const l of inv.layers) {
    const w = want.get(l.name);
    if (!w) problems.push(`layer '${l.name}' (${l.op}) is no module of the PyTorch model`);
    else if (w.role !== l.role) problems.push(`'${l.name}' is ${l.role}, the module tree says ${w.role}`);
  }
  const names = new Set(inv.layers.map((l) => l.name));
  for (const w of expected.layers)
    if ((w.type === "Conv2d" || w.type === "Linear") && !names.has(w.module))
      problems.push(`${w.type} '${w.module}' is not a layer`);
  const counts: Record<string, number> = { body: 0, shortcut: 0, classifier: 0 };
  for (const l of inv.layers) counts[l.role] = (counts[l.role] ?? 0) + 1;
  return { ok: problems.length === 0, layers: inv.layers.length, counts, problems };
}

export interface BuildResult {
  ok: boolean;
  seconds: number;
  trainStepNodes?: number;
  error?: string;
}

export async function checkBuild(model: ModelFile): Promise<BuildResult> {
  const t0 = performance.now();
  try {
    const a = await buildArtifacts(model, { loss: "ce" });
    return { ok: true, seconds: (performance.now() - t0) / 1000, trainStepNodes: a.manifest.nodes.trainStep };
  } catch (e) {
    return { ok: false, seconds: (performance.now() - t0) / 1000, error: (e as Error).message };
  }
}

export interface GradientResult {
  loss: "mse" | "ce";
  ok: boolean;
  /** Worst error (the criterion) and worst plain relative error over all tensors. */
  worst?: number;
  worstRelative?: number;
  worstTensor?: string;
  kinds?: Record<string, number>;
  tensors?: number;
  error?: string;
}

export async function checkGradients(
  model: ModelFile,
  refFile: string,
  loss: "mse" | "ce",
  tol = 1e-4,
): Promise<GradientResult> {
  try {
    const r: VerifyReport = await verifyTorch({
      model,
      ref: readSafetensors(refFile).tensors,
      refFile,
      loss,
      sgd: true,
      tol,
    });
    const worst = r.tensors.reduce((a, t) => (t.error > a.error ? t : a));
    return {
      loss,
      ok: r.ok,
      worst: worst.error,
      worstRelative: Math.max(...r.tensors.map((t) => t.relative)),
      worstTensor: `${worst.kind}/${worst.name}`,
      kinds: Object.fromEntries(r.kinds.map((k) => [k.kind, k.worst.error])),
      tensors: r.tensors.length,
    };
  } catch (e) {
    return { loss, ok: false, error: (e as Error).message };
  }
}

export interface TrainResult {
  ok: boolean;
  steps: number;
  losses: number[];
  /** The exported model: loads in a plain InferenceSession, same input and output names, finite logits. */
  exportOk: boolean;
  exportNames?: { inputs: string[]; outputs: string[] };
  unlearnSteps: number;
  unlearnLosses: number[];
  error?: string;
}

/** Seeded random images and labels of the model's input shape. */
function randomExamples(input: number[], classes: number, count: number): MemoryExamples {
  const [, c, h, w] = input as [number, number, number, number];
  let s = 12345;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648), s / 2147483648);
  return new MemoryExamples({
    shape: { channels: c, height: h, width: w },
    numClasses: classes,
    pixels: Float32Array.from({ length: count * c * h * w }, () => rand() * 2 - 1),
    ids: Int32Array.from({ length: count }, (_, i) => i),
    labels: Int32Array.from({ length: count }, () => Math.floor(rand() * classes)),
  });
}

export async function checkTraining(
  model: ModelFile,
  roles: ExpectedRoles,
  steps = 2,
  batch = 8,
): Promise<TrainResult> {
  const result: TrainResult = { ok: false, steps: 0, losses: [], exportOk: false, unlearnSteps: 0, unlearnLosses: [] };
  const [, c, h, w] = roles.input;
  const source = model.proto.graph!;
  try {
    const session = await fitClassifier({
      model,
      data: randomExamples(roles.input, roles.classes, steps * batch),
      epochs: 1,
      batchSize: batch,
      lr: 0.01,
      maxStepsPerEpoch: steps,
      onStep: (e) => {
        result.steps++;
        result.losses.push(e.loss);
      },
    });
    const exported = session.inferenceModel();
    await session.release();
    const plain = await ort.InferenceSession.create(encodeModel(exported));
    const inputs = [...plain.inputNames];
    const outputs = [...plain.outputNames];
    result.exportNames = { inputs, outputs };
    const x = randomExamples(roles.input, roles.classes, 2);
    const pixels = new Float32Array(2 * c! * h! * w!);
    await x.readImages([0, 1], pixels);
    const out = await plain.run({ [inputs[0]!]: new ort.Tensor("float32", pixels, [2, c!, h!, w!]) });
    const logits = out[outputs[0]!]!;
    await plain.release();
    const sourceInputs = source.input.map((v) => v.name).filter((n) => !source.initializer.some((t) => t.name === n));
    result.exportOk =
      JSON.stringify(inputs) === JSON.stringify(sourceInputs) &&
      JSON.stringify(outputs) === JSON.stringify(source.output.map((v) => v.name)) &&
      logits.dims.join(",") === `2,${roles.classes}` &&
      Array.from(logits.data as Float32Array).every(Number.isFinite);

    // the method's train step: MSE to the frozen original's logits, Gaussian noise on the batch
    const a = await buildArtifacts(model, { loss: "mse", teacher: true });
    const unlearn = await TrainingSession.create(a, { inputNoise: { std: 0.01, seed: 1 } });
    const images = randomExamples(roles.input, roles.classes, batch);
    const data = new Float32Array(batch * c! * h! * w!);
    await images.readImages(
      Array.from({ length: batch }, (_, i) => i),
      data,
    );
    for (let i = 0; i < steps; i++) {
      const { loss } = await unlearn.step(float32([batch, c!, h!, w!], data), undefined, 0.01);
      result.unlearnLosses.push(loss);
      result.unlearnSteps++;
    }
    await unlearn.release();
    result.ok =
      result.exportOk &&
      result.steps === steps &&
      result.unlearnSteps === steps &&
      [...result.losses, ...result.unlearnLosses].every(Number.isFinite);
  } catch (e) {
    result.error = (e as Error).message;
  }
  return result;
}
