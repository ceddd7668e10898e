/**
 * The runs of a job: `runs` independent runs (seeds seed..seed+runs-1) in run-NNN subfolders of `out`, or one
 * run in `out` itself; this process makes its shard's share. A complete run that answers the same request is
 * skipped, one made from anything else is an error, an incomplete one is redone from the start.
 */
import { existsSync, rmdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { saveModel, type ModelFile } from "../onnx/model-io.js";
import {
  ALL_RUNS,
  beginRun,
  claimRun,
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
import type { EventSink } from "./events.js";

export interface RunGroupOptions {
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
  make: (r: { index: number; seed: number; dir: string }) => Promise<MadeRun>,
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
    const wanted = request(index, seed);
    const done = readManifest(dir);
    if (done) {
      const why = requestMismatch(done, wanted);
      if (why) throw new UserError(`is a finished run of another request: ${why}; use another --out or remove it`, dir);
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
    beginRun(dir);
    const t0 = performance.now();
    const made = await make({ index, seed, dir });
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
      notes: made.notes,
    };
    finishRun(dir, manifest);
    o.onEvent?.({ event: "run-done", run: index, dir, seconds: seconds.total, sha256 });
  }
}

/** Removes an empty folder; one another process has meanwhile put a run in stays (rmdir refuses). */
function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    /* not empty or already gone */
  }
}

/** --out must be a folder (new or existing), never an existing file. */
export function checkOut(out: string): void {
  if (!out) throw new UserError("--out is empty: expected a folder for the run");
  if (existsSync(out) && !statSync(out).isDirectory()) {
    throw new UserError("is a file; --out expects a folder (the run folder holds model.onnx and manifest.json)", out);
  }
}
