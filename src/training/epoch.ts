/**
 * The training loop's shared pieces: a session for a model (with the BatchNormalization form the execution
 * provider can run), and one epoch of steps over a stream of batches.
 */
import type { Batch } from "../data/index.js";
import { abortReason, Interrupted, UserError } from "../errors.js";
import type { ModelFile } from "../onnx/model-io.js";
import { firstNonFinite, sameDims } from "../onnx/tensor.js";
import { buildArtifacts, type LossKind } from "./artifacts/index.js";
import type { Position, Snapshot, TrainingControl } from "./control.js";
import {
  TrainingSession,
  type ExecutionProvider,
  trainingLoopOptions,
  type TrainingLoopOptions,
} from "./session/index.js";

export interface OpenTrainingOptions extends TrainingLoopOptions {
  loss: LossKind;
  /** Embed the frozen original model as the MSE target (the method's knowledge-preserving loss). */
  teacher?: boolean;
  /** SGD momentum and weight decay; defaults 0.9 and 5e-4. */
  momentum?: number;
  weightDecay?: number;
  executionProvider?: ExecutionProvider;
  intraOpThreads?: number;
}

/** An SGD training session for `model`. */
export async function openTrainingSession(model: ModelFile, o: OpenTrainingOptions): Promise<TrainingSession> {
  const ep = o.executionProvider ?? "cpu";
  const artifacts = await buildArtifacts(model, {
    loss: o.loss,
    optimizer: "sgd",
    teacher: o.teacher,
    // onnxruntime's CUDA provider refuses training-mode BatchNormalization nodes (docs/artifacts.md)
    batchNorm: ep === "cuda" ? "decomposed" : "node",
    hyper: { momentum: o.momentum ?? 0.9, weightDecay: o.weightDecay ?? 5e-4 },
  });
  return TrainingSession.create(artifacts, {
    executionProvider: ep,
    intraOpThreads: o.intraOpThreads,
    ...trainingLoopOptions(o),
  });
}

/** Full batches one epoch gives, capped by `max`. */
export const stepsPerEpoch = (examples: number, batchSize: number, max = Infinity): number =>
  Math.min(max, Math.floor(examples / batchSize));

export interface EpochOptions {
  /** Stop after this many steps. */
  steps: number;
  /** Learning rate of step `step` (0-based). */
  lr: (step: number) => number;
  /** Feed the batch's labels as targets (cross-entropy); without, the step takes no targets (teacher inside). */
  labels?: boolean;
  onStep?: (step: number, loss: number, lr: number) => void;
  /** Where this epoch is, for messages ("cycle 2, epoch 3"). */
  where?: string;
  /** This epoch counted over the whole run (0-based; every epoch has `steps` steps): checkpoint positions, and the
   *  epoch a checkpoint of `control.resume` stopped in continues from its position. Default 0. */
  epoch?: number;
  /** Stop signal, checkpoints, NaN policy. */
  control?: TrainingControl;
  /** What the method has gathered so far, for checkpoints. */
  methodState?: () => unknown;
}

export interface EpochStats {
  /** Mean loss of the steps trained (skipped batches not counted); NaN when every batch was skipped. */
  meanLoss: number;
  seconds: number;
  images: number;
  /** Batches skipped for a non-finite loss, update or input (onNan "skip"); absent when none. */
  skipped?: number;
}

/** The most stacked batch bytes one K-step run holds (bigger batches run fewer steps per run, down to one). */
const MAX_STACKED_BYTES = 64 * 2 ** 20;

/**
 * Sessions whose K-step run failed in onnxruntime (not a UserError: the Loop session could not be made or run,
 * e.g. on a provider it was never tried on): they run one step per run from then on, with a warning once.
 */
const singleStepsOnly = new WeakSet<TrainingSession>();

/**
 * One epoch of steps, run `session.stepsPerRun` at a time (one onnxruntime run for K steps, see
 * TrainingSessionOptions.stepsPerRun; the numbers are those of single steps). Before each run the stop signal is
 * checked (once aborted: a checkpoint, then Interrupted); after every `checkpointEvery` steps of the run a
 * checkpoint is saved (a run of K steps ends there). A batch holding NaN or an infinity, a non-finite loss or an
 * update that would make the state non-finite stops the run naming the step and where it is (onNan "stop"), or
 * is skipped with the state unchanged and counted (onNan "skip"): a K-step run that meets one is undone and its
 * batches are stepped one at a time, so each is judged on its own as a single step would be.
 */
export async function trainEpoch(
  session: TrainingSession,
  batches: AsyncIterable<Batch>,
  o: EpochOptions,
): Promise<EpochStats> {
  const control = o.control ?? {};
  // the epoch a checkpoint stopped in continues from its position: its first `step` batches are read and passed over
  const resumed = control.resume?.snapshot.position;
  const from = resumed && resumed.epoch === (o.epoch ?? 0) ? resumed : undefined;
  const at: Position = from
    ? { ...from }
    : { epoch: o.epoch ?? 0, step: 0, lossSum: 0, images: 0, skipped: 0, seconds: 0 };
  const started = performance.now() - at.seconds * 1000;
  const snapshot = (): Snapshot => ({
    position: { ...at, seconds: (performance.now() - started) / 1000 },
    method: o.methodState?.(),
  });
  const where = (step: number) => `step ${step} of ${o.where ?? `epoch ${at.epoch + 1}`}`;
  const every = control.checkpointEvery;
  const checkpointAfter = (step: number) => every !== undefined && (at.epoch * o.steps + step) % every === 0;
  const stopIfAborted = () => {
    if (!control.signal?.aborted) return;
    control.save?.(session, snapshot());
    throw new Interrupted(abortReason(control.signal), `stopped before ${where(at.step + 1)}`);
  };
  /** One step's outcome: its loss, or what was not finite (then nothing was applied, or checkLoss is off). */
  const record = (b: Batch, result: { loss: number } | string, lr: number) => {
    at.step++;
    if (typeof result === "string") {
      if (control.onNan !== "skip") {
        throw new UserError(
          `${result} at ${where(at.step)} (lr ${lr}); stopped: lower the learning rate, check the inputs, or skip such batches (--on-nan skip)`,
        );
      }
      at.skipped++;
    } else {
      at.lossSum += result.loss;
      at.images += b.dims[0];
      o.onStep?.(at.step, result.loss, lr);
    }
    if (checkpointAfter(at.step)) control.save?.(session, snapshot());
  };
  let group: Batch[] = [];
  const runGroup = async () => {
    if (group.length === 0) return;
    stopIfAborted();
    const run = group;
    group = [];
    const lrs = run.map((_, i) => o.lr(at.step + i));
    const results = run.length > 1 ? await stepsInOneRun(session, run, lrs, o.labels === true) : undefined;
    for (const [i, b] of run.entries())
      record(b, results ? results[i]! : await trainStep(session, b, lrs[i]!, o.labels === true), lrs[i]!);
  };
  let index = 0;
  for await (const b of batches) {
    if (index >= o.steps) break;
    // batches a checkpoint's run had already done: read (as it read them) and passed over
    if (index++ < (from?.step ?? 0)) continue;
    const bad = nonFiniteInput(b);
    if (bad || (group.length > 0 && !sameDims(group[0]!.dims, b.dims))) await runGroup();
    if (bad) {
      stopIfAborted();
      record(b, bad, o.lr(at.step));
      continue;
    }
    group.push(b);
    const most = singleStepsOnly.has(session) ? 1 : session.stepsPerRun;
    const k = Math.max(1, Math.min(most, Math.floor(MAX_STACKED_BYTES / b.x.byteLength)));
    if (group.length >= k || checkpointAfter(at.step + group.length) || index >= o.steps) await runGroup();
  }
  await runGroup();
  const trained = at.step - at.skipped;
  return {
    meanLoss: trained > 0 || at.skipped === 0 ? at.lossSum / Math.max(1, trained) : NaN,
    seconds: (performance.now() - started) / 1000,
    images: at.images,
    ...(at.skipped > 0 ? { skipped: at.skipped } : {}),
  };
}

/** What is not finite in the batch's images ("the batch holds NaN (image of example id 7)"), or undefined. */
function nonFiniteInput(b: Batch): string | undefined {
  const bad = firstNonFinite(b.x);
  if (bad < 0) return undefined;
  const id = b.ids[Math.floor(bad / (b.x.length / b.dims[0]))];
  return `the batch holds ${b.x[bad]} (image of example id ${id})`;
}

const labelsOf = (b: Batch) => ({ dtype: "int64" as const, dims: [b.dims[0]], data: b.y });

/** A step's loss as the loop takes it: refused when not finite (a session made with checkLoss false applies every
 *  step: the loss is still refused, the state is what it is). */
const outcome = (loss: number): { loss: number } | string => (Number.isFinite(loss) ? { loss } : `the loss is ${loss}`);

/** One step on a batch: its loss, or what was not finite (nothing applied). */
async function trainStep(
  session: TrainingSession,
  b: Batch,
  lr: number,
  labels: boolean,
): Promise<{ loss: number } | string> {
  const r = await session.step({ dtype: "float32", dims: b.dims, data: b.x }, labels ? labelsOf(b) : undefined, lr, {
    nonFinite: "skip",
  });
  return r.skipped ?? outcome(r.loss);
}

/**
 * Equal-shaped batches as one K-step run: each step's result as trainStep gives it, or undefined when one of them
 * was not finite or the run failed in onnxruntime (nothing applied; the caller steps them one at a time).
 */
async function stepsInOneRun(
  session: TrainingSession,
  run: Batch[],
  lrs: number[],
  labels: boolean,
): Promise<({ loss: number } | string)[] | undefined> {
  const first = run[0]!;
  const x = new Float32Array(run.length * first.x.length);
  run.forEach((b, i) => x.set(b.x, i * first.x.length));
  const y = labels ? new BigInt64Array(run.length * first.y.length) : undefined;
  if (y) run.forEach((b, i) => y.set(b.y as BigInt64Array, i * first.y.length));
  const targets = y && { dtype: "int64" as const, dims: [run.length, first.dims[0]], data: y };
  let r;
  try {
    r = await session.stepMany({ dtype: "float32", dims: [run.length, ...first.dims], data: x }, targets, lrs, {
      nonFinite: "skip",
    });
  } catch (e) {
    if (e instanceof UserError) throw e;
    singleStepsOnly.add(session);
    const why = (e instanceof Error ? e.message : String(e)).split("\n")[0];
    process.stderr.write(
      `onnx-unlearn: warning: ${run.length} steps in one onnxruntime run failed (${why}); running one step per run\n`,
    );
    return undefined;
  }
  if (r.skipped) return undefined;
  return Array.from(r.losses, outcome);
}
