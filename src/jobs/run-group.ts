/**
 * The runs of a job: `runs` independent runs (seeds seed..seed+runs-1) in run-NNN subfolders of `out`, or one
 * run in `out` itself; this process makes its shard's share. A complete run that answers the same request is
 * skipped, one made from anything else is an error; an incomplete one continues from its checkpoint when it has
 * one of the same request (unless `resume` is false), else is redone from the start. A stop signal ends the job
 * between two steps with a checkpoint (Interrupted), or between two runs.
 */
import { existsSync, rmdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { abortReason, Interrupted, UserError } from "../errors.js";
import { saveModel, type ModelFile } from "../onnx/model-io.js";
import {
  ALL_RUNS,
  beginRun,
  claimRun,
  clearStaleClaim,
  finishRun,
  MODEL_FILE,
  readManifest,
  requestMismatch,
  runDir,
  runEnvironment,
  RUN_FORMAT,
  sha256File,
  shardRuns,
  type EpochRecord,
  type RunManifest,
  type Shard,
} from "../runs/index.js";
import { ON_NAN, type OnNan, type TrainingControl } from "../training/control.js";
import {
  checkpointControl,
  checkpointPath,
  readRunCheckpoint,
  resumeNotes,
  type JobProgress,
  type LoadedCheckpoint,
} from "./checkpoint.js";
import type { EventSink } from "./events.js";

export interface RunGroupOptions extends RunControlOptions {
  /** The run folder (one run) or the folder of run-NNN folders (`runs` given). */
  out: string;
  /** Number of runs; undefined: one run written to `out` itself. */
  runs?: number;
  shard?: Shard;
  /** Seed of run 0; run r has seed + r. */
  seed: number;
  job: string;
  executionProvider: string;
  threads?: number;
  onEvent?: EventSink;
}

/** What train and unlearn take about interruptions, checkpoints and numerical trouble. */
export interface RunControlOptions {
  /** Write a checkpoint into the run folder every this many steps. Default: only when stopped by `signal`. */
  checkpointEvery?: number;
  /** Continue an unfinished run from its checkpoint of the same request (default true); false: start it over. */
  resume?: boolean;
  /**
   * Stops the job between two steps, after writing a checkpoint (Interrupted is thrown), or between two runs.
   * Abort it with the signal's name ("SIGINT") as the reason to have that name in the error.
   */
  signal?: AbortSignal;
  /** A non-finite loss, update or input: "stop" the run (default) or "skip" the batch (counted in the manifest). */
  onNan?: OnNan;
}

/** One attempt at a run, as make() gets it. */
export interface RunAttempt {
  index: number;
  seed: number;
  dir: string;
  /** The run's epoch records: those of the checkpoint it continues from; make() appends the rest. */
  epochs: EpochRecord[];
  /** For the training loop: the stop signal, checkpoints into the run folder, the NaN policy, what to resume. */
  control: TrainingControl;
}

/** What identifies a run: the manifest fields fixed before it starts. */
export type RunRequest = Pick<
  RunManifest,
  "kind" | "method" | "run" | "input" | "data" | "retain" | "forget" | "config" | "readsForget"
>;

export interface MadeRun {
  /** The model to write as the run's model.onnx. */
  model: ModelFile;
  epochs: EpochRecord[];
  seconds: Record<string, number>;
  reinitialised?: RunManifest["reinitialised"];
  notes?: string[];
}

export interface RunGroupResult {
  /** Every run folder of this shard, made now or before. */
  dirs: string[];
  made: number;
  skipped: number;
  /** Runs left alone because another process is making them. */
  busy: number;
}

export async function runGroup(
  o: RunGroupOptions,
  request: (index: number, seed: number) => RunRequest,
  make: (r: RunAttempt) => Promise<MadeRun>,
): Promise<RunGroupResult> {
  checkOut(o.out);
  const grouped = o.runs !== undefined;
  const total = o.runs ?? 1;
  if (!(Number.isInteger(total) && total >= 1))
    throw new UserError(`--runs expects a whole number >= 1, got ${o.runs}`);
  const shard = o.shard ?? ALL_RUNS;
  if (shard.count > total)
    throw new UserError(`--shard ${shard.index + 1}/${shard.count}: only ${total} runs to share`);
  const mine = shardRuns(total, shard);
  const outExisted = existsSync(o.out);
  const started = performance.now();
  o.onEvent?.({ event: "start", job: o.job, runs: mine, of: total, out: o.out });
  const result: RunGroupResult = { dirs: [], made: 0, skipped: 0, busy: 0 };
  for (const index of mine) {
    const seed = o.seed + index;
    const dir = runDir(o.out, index, grouped);
    if (o.signal?.aborted) {
      const reason = abortReason(o.signal);
      throw new Interrupted(reason, `stopped before run ${index} (${dir}); the finished runs are kept`);
    }
    const asked = request(index, seed);
    // --on-nan skip can change what a run makes: part of its request (absent for the default, stop)
    const wanted = o.onNan === "skip" ? { ...asked, config: { ...asked.config, onNan: "skip" } } : asked;
    const done = readManifest(dir);
    if (done) {
      const why = requestMismatch(done, wanted);
      if (why) throw new UserError(`is a finished run of another request: ${why}; use another --out or remove it`, dir);
      // a maker killed between its manifest and the removal of its checkpoint and claim left them behind
      rmSync(checkpointPath(dir), { force: true });
      clearStaleClaim(dir);
      o.onEvent?.({ event: "skip", run: index, dir, reason: "finished before (same request)" });
      result.dirs.push(dir);
      result.skipped++;
      continue;
    }
    const dirExisted = existsSync(dir);
    const claim = claimRun(dir);
    if ("heldBy" in claim) {
      o.onEvent?.({ event: "skip", run: index, dir, reason: `being made by ${claim.heldBy}` });
      result.busy++;
      continue;
    }
    try {
      await makeRun(dir, index, seed, wanted);
    } catch (e) {
      if (e instanceof Interrupted && existsSync(checkpointPath(dir))) {
        claim.release(); // the folder stays, with its checkpoint
        const where = `${e.message} of run ${index}; checkpoint ${checkpointPath(dir)}`;
        throw new Interrupted(e.reason, where, checkpointPath(dir));
      }
      // nothing half-written: a folder this attempt created goes, claim and all (an older incomplete one stays cleared)
      if (dirExisted) claim.release();
      else rmSync(dir, { recursive: true, force: true });
      if (grouped && !outExisted) removeIfEmpty(o.out);
      throw e;
    }
    claim.release();
    result.dirs.push(dir);
    result.made++;
  }
  o.onEvent?.({
    event: "done",
    job: o.job,
    made: result.made,
    skipped: result.skipped,
    seconds: (performance.now() - started) / 1000,
  });
  return result;

  async function makeRun(dir: string, index: number, seed: number, wanted: RunRequest): Promise<void> {
    const resume = o.resume ?? true;
    beginRun(dir, { keepCheckpoint: resume });
    const from = resume ? readRunCheckpoint(dir, wanted) : undefined;
    const progress: JobProgress = structuredClone(from?.job ?? { epochs: [], resumed: [] });
    if (from) {
      const { epoch, step } = from.snapshot.position;
      progress.resumed.push({ epoch, step, stepCount: from.stepCount });
      o.onEvent?.({ event: "resume", run: index, dir, checkpoint: from.path, epoch, step });
    }
    const control = checkpointControl({
      dir,
      wanted,
      every: o.checkpointEvery,
      signal: o.signal,
      onNan: o.onNan,
      executionProvider: o.executionProvider,
      threads: o.threads,
      from,
      progress: () => progress,
      onSaved: (path, { position }) =>
        o.onEvent?.({ event: "checkpoint", run: index, path, epoch: position.epoch, step: position.step }),
    });
    const t0 = performance.now();
    const made = await make({ index, seed, dir, epochs: progress.epochs, control });
    const modelPath = join(dir, MODEL_FILE);
    const t1 = performance.now();
    saveModel(made.model, modelPath);
    const sha256 = sha256File(modelPath);
    const seconds = { ...made.seconds, save: (performance.now() - t1) / 1000, total: (performance.now() - t0) / 1000 };
    const manifest: RunManifest = {
      format: RUN_FORMAT,
      ...wanted,
      output: { model: MODEL_FILE, sha256 },
      reinitialised: made.reinitialised,
      epochs: made.epochs,
      seconds,
      executionProvider: o.executionProvider,
      threads: o.threads,
      environment: runEnvironment(),
      finished: new Date().toISOString(),
      ...(progress.resumed.length ? { resumed: progress.resumed } : {}),
      notes: runNotes(made, from, o),
    };
    finishRun(dir, manifest);
    o.onEvent?.({ event: "run-done", run: index, dir, seconds: seconds.total, sha256 });
  }
}

/** The job's notes, plus what a resumption or skipped batches add (those are also told as note events). */
function runNotes(made: MadeRun, from: LoadedCheckpoint | undefined, o: RunGroupOptions): string[] | undefined {
  const extra = from ? resumeNotes(from, { executionProvider: o.executionProvider, threads: o.threads }) : [];
  const skipped = made.epochs.filter((e) => e.skipped);
  if (skipped.length) {
    const total = skipped.reduce((n, e) => n + e.skipped!, 0);
    const where = skipped.map((e) => `${e.phase} epoch ${e.epoch + 1}: ${e.skipped}`).join(", ");
    extra.push(`--on-nan skip: ${total} batch(es) skipped for a non-finite loss, update or input (${where})`);
  }
  for (const message of extra) o.onEvent?.({ event: "note", message });
  return extra.length ? [...(made.notes ?? []), ...extra] : made.notes;
}

/** Removes an empty folder; one another process has meanwhile put a run in stays (rmdir refuses). */
function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    /* not empty or already gone */
  }
}

/** The options of runGroup that a job checks before any work: checkpoint interval and NaN policy. */
export function checkRunControl(o: { checkpointEvery?: number; onNan?: string }): void {
  const every = o.checkpointEvery;
  if (every !== undefined && !(Number.isSafeInteger(every) && every >= 1))
    throw new UserError(`--checkpoint-every expects a whole number of steps >= 1, got ${every}`);
  if (o.onNan !== undefined && !(ON_NAN as readonly string[]).includes(o.onNan))
    throw new UserError(`--on-nan expects ${ON_NAN.join(" or ")}, got '${o.onNan}'`);
}

/** --out must be a folder (new or existing), never an existing file. */
export function checkOut(out: string): void {
  if (!out) throw new UserError("--out is empty: expected a folder for the run");
  if (existsSync(out) && !statSync(out).isDirectory()) {
    throw new UserError("is a file; --out expects a folder (the run folder holds model.onnx and manifest.json)", out);
  }
}
