/**
 * A job's peak memory, estimated before it starts (issue #12) from four terms: the process with onnxruntime
 * (fixed), the data (images held and batches in flight: src/data/memory.ts), the model's state (its weights in
 * every copy a run holds: source model, artifacts, state and fetch buffers, gradients, momentum, the embedded
 * teacher, the exported model) and the activations (a train step's values at the batch size). The factors are
 * calibrated against the peak RSS of real jobs (docs/RELIABILITY.md, "Peak memory"): the estimate is meant as an
 * upper bound within 2x.
 */
import type { ModelFile } from "../../onnx/model-io.js";
import { bytesPerElement, dtypeFromOnnx, numel } from "../../onnx/tensor.js";
import { inlined } from "../artifacts/build.js";
import { probeShapes } from "../artifacts/probe.js";

const MiB = 2 ** 20;

/** Node.js with the project's modules, onnxruntime and its sessions' fixed costs (measured: 160-240 MiB). */
export const RUNTIME_BYTES = 256 * MiB;

/**
 * Weight bytes held per weight byte at a run's peak. Training: the source model, the artifacts' initial state,
 * the state store's current and fetch buffers of weights and momentum, onnxruntime's gradients, the exported
 * model and its encoding (measured 14x on ResNet-18); the teacher adds its embedded copy in the train step's
 * bytes and in onnxruntime (17x). Inference: the model, its bytes, onnxruntime's copy.
 */
const STATE_COPIES = { train: 16, teacher: 20, inference: 4 } as const;

/**
 * Activation bytes of a train step per byte of the forward values (all values of one forward pass at the batch
 * size): the forward kept for the backward, the gradients, and onnxruntime's arena, which keeps the first step's
 * blocks beside the planned block of later steps (measured 2.1x to 3.4x).
 */
const STEP_ACTIVATIONS = 4;
/** Scoring (an inference session): at most every forward value alive at once. */
const INFERENCE_ACTIVATIONS = 1;

/** What a stage does with the model: train it (cross-entropy), train it against its embedded original (the MSE teacher), or score it. */
export type MemoryUse = keyof typeof STATE_COPIES;

/** The model's two sizes the estimate scales with. */
export interface ModelMemory {
  /** Bytes of its initializers. */
  weightBytes: number;
  /** Bytes of every value of one forward pass, per example (float32, from a probe at batch 1 and 3). */
  activationBytesPerExample: number;
}

export interface MemoryStage {
  /** For the message: "train", "unlearn (stochastic)", "scoring". */
  what: string;
  use: MemoryUse;
  batchSize: number;
  /** Scoring in the same session at this batch size while training (validation after each epoch). */
  evalBatchSize?: number;
}

export interface MemoryEstimate {
  /** The total, bytes. */
  bytes: number;
  stage: MemoryStage;
  terms: { runtime: number; data: number; model: number; activations: number };
  model: ModelMemory;
}

/** Measures the model: its weights, and its forward values per example (two small forward runs, as the artifact build does). */
export async function modelMemory(model: ModelFile): Promise<ModelMemory> {
  const graph = model.proto.graph!;
  let weightBytes = 0;
  for (const t of graph.initializer) {
    const dtype = dtypeFromOnnx(t.dataType);
    weightBytes += numel(t.dims.map(Number)) * (dtype ? bytesPerElement(dtype) : 4);
  }
  const inits = new Set(graph.initializer.map((t) => t.name));
  const input = graph.input.find((i) => !inits.has(i.name))?.name ?? "";
  const shapes = await probeShapes(inlined(model), input, model.file);
  let perExample = 0;
  for (const dims of shapes.values()) {
    if (!dims.some((d) => typeof d === "string")) continue; // not batch-sized: constants, shapes
    perExample += dims.reduce<number>((n, d) => n * (typeof d === "number" ? d : perExampleDim(d)), 4);
  }
  return { weightBytes, activationBytesPerExample: perExample };
}

/** "N" is 1 per example, "N*d" is d; an unknown dim (null) counts as 1. */
const perExampleDim = (d: string | null): number => (d === null ? 1 : d === "N" ? 1 : Number(d.slice(2)) || 1);

/** The estimate of one stage on `dataBytes` of data (heldImageBytes + batchBytes, src/data/memory.ts). */
export function estimateMemory(model: ModelMemory, stage: MemoryStage, dataBytes: number): MemoryEstimate {
  const perExample = model.activationBytesPerExample;
  const activations =
    stage.use === "inference"
      ? INFERENCE_ACTIVATIONS * perExample * stage.batchSize
      : STEP_ACTIVATIONS * perExample * stage.batchSize +
        INFERENCE_ACTIVATIONS * perExample * (stage.evalBatchSize ?? 0);
  const terms = {
    runtime: RUNTIME_BYTES,
    data: dataBytes,
    model: STATE_COPIES[stage.use] * model.weightBytes,
    activations,
  };
  return { bytes: terms.runtime + terms.data + terms.model + terms.activations, stage, terms, model };
}

/** Binary units to one decimal: "512.0 MiB", "3.2 GiB". */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${n.toFixed(1)} ${units[u]}`;
}

/** The estimate with its terms on one line. */
export function describeEstimate(e: MemoryEstimate): string {
  const { terms: t, stage: s } = e;
  const batches = `batch ${s.batchSize}${s.evalBatchSize ? `, scoring batch ${s.evalBatchSize}` : ""}`;
  return (
    `${formatBytes(e.bytes)} for ${s.what}: runtime ${formatBytes(t.runtime)} + data ${formatBytes(t.data)} + ` +
    `model state ${formatBytes(t.model)} (${formatBytes(e.model.weightBytes)} of weights) + activations ` +
    `${formatBytes(t.activations)} (${batches}, ${formatBytes(e.model.activationBytesPerExample)} of forward values per example)`
  );
}
