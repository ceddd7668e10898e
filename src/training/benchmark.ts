/**
 * Times the method's train step on a TrainingSession: teacher forward + student forward/backward + MSE +
 * SGD-momentum update, with Gaussian noise (std 0.01) added to the input inside the step, all in one
 * onnxruntime run (or K of them in one run with stepsPerRun > 1). Warm-up runs are excluded; the result is
 * the median of `repeats` timings of `steps` steps each. Used by scripts/bench.ts and the GPU check script.
 */
import { buildZooModel, type ZooOptions } from "../models/index.js";
import { normalSampler, seededRandom } from "../models/init.js";
import { loadModel } from "../onnx/model-io.js";
import { encodeModel } from "../onnx/proto.js";
import { numel, type Tensor } from "../onnx/tensor.js";
import { buildArtifacts, type Artifacts, type BatchNormForm } from "./artifacts/index.js";
import type { ArtifactsLike, ExecutionProvider, GraphOptimizationLevel } from "./session/index.js";
import { TrainingSession } from "./session/index.js";

export interface StepBenchOptions {
  artifacts: ArtifactsLike;
  /** Reuse this session (made by openBenchSession) instead of opening one; it is left open. */
  session?: TrainingSession;
  /** Input dims without the batch: [C, H, W]. */
  sampleDims: number[];
  batch: number;
  executionProvider?: ExecutionProvider;
  intraOpThreads?: number;
  graphOptimizationLevel?: GraphOptimizationLevel;
  /** onnxruntime thread spinning (TrainingSessionOptions.allowSpinning). Default false. */
  allowSpinning?: boolean;
  /** Steps per session.run (an ONNX Loop when > 1). Default 1. */
  stepsPerRun?: number;
  /** Steps per timed repeat (rounded up to a multiple of stepsPerRun). Default 5. */
  steps?: number;
  /** Timed repeats; the median is reported. Default 3. */
  repeats?: number;
  /** Untimed runs first (session warm-up, allocator growth). Default WARMUP_STEPS. */
  warmupRuns?: number;
  /** Learning rate of the timed steps. Default 0.001. */
  lr?: number;
  seed?: number;
}

export interface StepBenchResult {
  executionProvider: ExecutionProvider;
  batch: number;
  stepsPerRun: number;
  intraOpThreads: number | null;
  graphOptimizationLevel: GraphOptimizationLevel;
  /** Median milliseconds per train step. */
  msPerStep: number;
  imagesPerSecond: number;
  /** Every repeat's milliseconds per step, in order. */
  repeatsMsPerStep: number[];
  /** Process CPU time per step (user + system, all threads), median over repeats. */
  cpuMsPerStep: number;
  /** Null when the caller passed its own session. */
  sessionCreateMs: number | null;
  /** Peak resident set size of the process so far, MiB. */
  peakRssMiB: number;
  lastLoss: number;
}

/**
 * Untimed steps before timing: a process's first ~6 train steps run slower (page faults while glibc's malloc
 * raises its mmap threshold to the step's buffer sizes; docs/PERFORMANCE.md), PyTorch's first one or two.
 */
export const WARMUP_STEPS = 8;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

export async function benchmarkStep(o: StepBenchOptions): Promise<StepBenchResult> {
  const k = o.stepsPerRun ?? 1;
  const runsPerRepeat = Math.ceil((o.steps ?? 5) / k);
  const lr = o.lr ?? 0.001;
  const t0 = performance.now();
  const session = o.session ?? (await openBenchSession(o));
  const sessionCreateMs = performance.now() - t0;
  try {
    // Two different inputs, alternated, so no run sees the previous run's exact input.
    const inputs = [0, 1].map((i) =>
      randomBatch(
        [k > 1 ? k : 0, o.batch, ...o.sampleDims].filter((d) => d > 0),
        (o.seed ?? 0) + i,
      ),
    );
    let lastLoss = NaN;
    const run = async (i: number) => {
      const x = inputs[i % 2]!;
      if (k > 1) lastLoss = (await session.stepMany(x, undefined, lr)).losses.at(-1)!;
      else lastLoss = (await session.step(x, undefined, lr)).loss;
    };
    for (let i = 0; i < (o.warmupRuns ?? WARMUP_STEPS); i++) await run(i);
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let r = 0; r < (o.repeats ?? 3); r++) {
      const c0 = process.cpuUsage();
      const start = performance.now();
      for (let i = 0; i < runsPerRepeat; i++) await run(i);
      wall.push((performance.now() - start) / (runsPerRepeat * k));
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000 / (runsPerRepeat * k));
    }
    const msPerStep = median(wall);
    return {
      executionProvider: session.executionProvider,
      batch: o.batch,
      stepsPerRun: k,
      intraOpThreads: o.intraOpThreads ?? null,
      graphOptimizationLevel: o.graphOptimizationLevel ?? "all",
      msPerStep,
      imagesPerSecond: (o.batch * 1000) / msPerStep,
      repeatsMsPerStep: wall,
      cpuMsPerStep: median(cpu),
      sessionCreateMs: o.session ? null : sessionCreateMs,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
      lastLoss,
    };
  } finally {
    if (!o.session) await session.release();
  }
}

/** Artifacts of the step benchmarkStep times (MSE to the embedded teacher) for the zoo model `model`. */
export function benchArtifacts(
  o: ZooOptions & { model: string; batchNorm?: BatchNormForm; denseConvs?: boolean },
): Promise<Artifacts> {
  const { model, batchNorm, denseConvs, ...zoo } = o;
  return buildArtifacts(loadModel(encodeModel(buildZooModel(model, zoo)), { name: `${model}.onnx` }), {
    loss: "mse",
    teacher: true,
    batchNorm,
    denseConvs,
  });
}

/** The session benchmarkStep times: the options' provider, threads and level, input noise std 0.01. */
export function openBenchSession(o: Omit<StepBenchOptions, "batch" | "sampleDims">): Promise<TrainingSession> {
  return TrainingSession.create(o.artifacts, {
    executionProvider: o.executionProvider ?? "cpu",
    intraOpThreads: o.intraOpThreads,
    graphOptimizationLevel: o.graphOptimizationLevel,
    allowSpinning: o.allowSpinning,
    inputNoise: { std: 0.01, seed: o.seed ?? 0 },
  });
}

/** Standard-normal float32 data (seeded). */
export function randomBatch(dims: number[], seed: number): Tensor {
  const normal = normalSampler(seededRandom(seed));
  const data = new Float32Array(numel(dims));
  for (let i = 0; i < data.length; i++) data[i] = normal();
  return { dtype: "float32", dims, data };
}
