/**
 * TrainingSession options and the onnxruntime-node session options they become. The CUDA provider is never
 * dropped silently: if it cannot load, the error names the files that onnxruntime-node looked for.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { InferenceSession } from "onnxruntime-node";
import { UserError } from "../../errors.js";
import type { Tensor } from "../../onnx/tensor.js";
import type { InputNoise } from "./input-noise.js";
import { ortLogSeverity } from "../ort-log.js";

/**
 * onnxruntime-node 1.29 collects usage telemetry: its first session writes a device id and an event database
 * under ~/.cache/Microsoft/DeveloperTools/.onnxruntime/ (and its 1DS SDK may send the events). The library reads
 * ORT_DISABLE_TELEMETRY when it creates its environment, at the first session, so setting it here, when this
 * module loads (before any session: every session of this project is made with these options), turns that off.
 * A user who wants it on sets ORT_DISABLE_TELEMETRY=0.
 */
export function disableOrtTelemetry(): void {
  process.env.ORT_DISABLE_TELEMETRY ??= "1";
}
disableOrtTelemetry();

export type ExecutionProvider = "cpu" | "cuda";
export type GraphOptimizationLevel = "disabled" | "basic" | "extended" | "all";

/** The training loop's steps per onnxruntime run (TrainingSessionOptions.stepsPerRun). */
export const DEFAULT_STEPS_PER_RUN = 8;

export interface TrainingSessionOptions {
  /** Where the graphs run. Default "cpu". */
  executionProvider?: ExecutionProvider;
  /** CUDA device. Default 0. */
  deviceId?: number;
  /** With "cuda": run on the CPU (with a warning on stderr) when the CUDA provider fails to load. Default false. */
  fallbackToCpu?: boolean;
  /** Threads per operator; default: onnxruntime's choice (one per physical core). */
  intraOpThreads?: number;
  /** onnxruntime graph optimisation level. Default "all". */
  graphOptimizationLevel?: GraphOptimizationLevel;
  /** Check every loss for NaN/Infinity and stop (state left as before the step). Default true. */
  checkLoss?: boolean;
  /** Let onnxruntime's intra-op threads spin while waiting for work. Default false: on a shared or busy CPU
   *  spinning threads burn the cycles the working ones need (measured 2x slower; docs/PERFORMANCE.md). */
  allowSpinning?: boolean;
  /** Add Gaussian noise to the batch inside the train step (the method's x' = x + N(0, std^2)). Default none. */
  inputNoise?: InputNoise;
  /** float32 [K], fed to every step of a train step built with class weights (required there). */
  classWeights?: Tensor;
  /**
   * Steps the training loop (trainEpoch) runs per onnxruntime run, as one stepMany: onnxruntime-node copies every
   * output of a run into a new buffer, so a run per step copies the whole state out after every step (ResNet-18:
   * 85 MiB, ~25% of a 2-thread CPU step; docs/PERFORMANCE.md). Default DEFAULT_STEPS_PER_RUN (8); 1 runs every
   * step on its own.
   */
  stepsPerRun?: number;
}

/** The session options a training job or method passes on to its sessions as given (defaults: resolveOptions). */
export type TrainingLoopOptions = Pick<TrainingSessionOptions, "stepsPerRun" | "allowSpinning">;

/** Just the TrainingLoopOptions of `o`, to pass on. */
export const trainingLoopOptions = (o: TrainingLoopOptions): TrainingLoopOptions => ({
  stepsPerRun: o.stepsPerRun,
  allowSpinning: o.allowSpinning,
});

export type ResolvedOptions = Required<Omit<TrainingSessionOptions, "intraOpThreads" | "inputNoise" | "classWeights">> &
  Pick<TrainingSessionOptions, "intraOpThreads" | "inputNoise" | "classWeights">;

export function resolveOptions(o: TrainingSessionOptions): ResolvedOptions {
  const given = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as TrainingSessionOptions;
  const r = {
    executionProvider: "cpu" as ExecutionProvider,
    deviceId: 0,
    fallbackToCpu: false,
    graphOptimizationLevel: "all" as GraphOptimizationLevel,
    checkLoss: true,
    allowSpinning: false,
    stepsPerRun: DEFAULT_STEPS_PER_RUN,
    ...given,
  };
  const problems: string[] = [];
  if (r.executionProvider !== "cpu" && r.executionProvider !== "cuda")
    problems.push(`executionProvider must be "cpu" or "cuda", got "${r.executionProvider}"`);
  if (!Number.isInteger(r.deviceId) || r.deviceId < 0)
    problems.push(`deviceId must be a non-negative integer, got ${r.deviceId}`);
  if (r.intraOpThreads !== undefined && (!Number.isInteger(r.intraOpThreads) || r.intraOpThreads < 1))
    problems.push(`intraOpThreads must be a positive integer, got ${r.intraOpThreads}`);
  if (!Number.isInteger(r.stepsPerRun) || r.stepsPerRun < 1)
    problems.push(`stepsPerRun must be a positive integer, got ${r.stepsPerRun}`);
  if (!["disabled", "basic", "extended", "all"].includes(r.graphOptimizationLevel))
    problems.push(`graphOptimizationLevel must be disabled, basic, extended or all, got "${r.graphOptimizationLevel}"`);
  if (problems.length) throw new UserError(problems.join("; "), "training session options");
  return r;
}

/**
 * ORT's ConstantSharing optimizer merges initializers with equal values, and its training-mode
 * BatchNormalization kernel writes its running-stat outputs in place over inputs 3 and 4. Together they let
 * a train step overwrite constants that another node reads (seen with ORT 1.29: the embedded teacher's BN
 * running_mean/var, all 0 and 1 in a fresh model, merged with the student's placeholders there). The fix is
 * in the artifacts (train-mode.ts feeds the BN node its own batch statistics, so it writes over no constant;
 * every test passes with this optimizer on); this stays as a guard for train steps built elsewhere
 * (ArtifactsLike is structural), and the train step never benefits from the merge.
 */
export const DISABLED_OPTIMIZERS = "ConstantSharing";

export function sessionOptions(o: ResolvedOptions, ep: ExecutionProvider): InferenceSession.SessionOptions {
  disableOrtTelemetry();
  return {
    executionProviders: ep === "cuda" ? [{ name: "cuda", deviceId: o.deviceId }] : ["cpu"],
    graphOptimizationLevel: o.graphOptimizationLevel,
    ...(o.intraOpThreads !== undefined ? { intraOpNumThreads: o.intraOpThreads } : {}),
    interOpNumThreads: 1,
    executionMode: "sequential",
    logSeverityLevel: ortLogSeverity(),
    extra: {
      optimization: { disable_specified_optimizers: DISABLED_OPTIMIZERS },
      session: { intra_op: { allow_spinning: o.allowSpinning ? "1" : "0" } },
    },
  };
}

/** The folder holding onnxruntime-node's native libraries (where it looks for the CUDA provider). */
export function ortNativeDir(): string {
  const main = createRequire(import.meta.url).resolve("onnxruntime-node");
  return join(dirname(main), "..", "bin", "napi-v6", process.platform, process.arch);
}

/** Explains a failure to create a CUDA session: which provider libraries are missing, and ORT's message. */
export function cudaLoadError(cause: unknown, deviceId: number): UserError {
  const dir = ortNativeDir();
  const libs =
    process.platform === "win32"
      ? ["onnxruntime_providers_shared.dll", "onnxruntime_providers_cuda.dll"]
      : ["libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"];
  const missing = libs.filter((l) => !existsSync(join(dir, l)));
  const why = missing.length
    ? `missing ${missing.join(" and ")} in ${dir} (this onnxruntime-node install is CPU-only; see docs/PERFORMANCE.md for the CUDA kit)`
    : `the provider libraries are in ${dir} but did not load (CUDA/cuDNN libraries on LD_LIBRARY_PATH? device ${deviceId} present?)`;
  const msg = cause instanceof Error ? cause.message : String(cause);
  return new UserError(
    `the CUDA execution provider failed to load: ${why}; onnxruntime said: ${msg}. Pass fallbackToCpu to run on the CPU instead`,
  );
}
