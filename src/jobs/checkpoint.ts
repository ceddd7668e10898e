/**
 * A run's checkpoint, `<run>/checkpoint.safetensors`: one file, written atomically (never half), holding every
 * state tensor of the training session (weights, momentum buffers, BatchNorm statistics) and its step count as a
 * training state file (src/training/session/checkpoint.ts), plus, as JSON under the metadata key `run`: the
 * request it was made for (and its hash), where the run is (epoch, step, the epoch's loss sum so far), what the
 * method and the job have gathered (cycles and their draws, finished epoch records) and where it was made.
 * A rerun of the same request continues from it; the finished run removes it.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.js";
import {
  CHECKPOINT_FILE,
  count,
  fields,
  list,
  number,
  requestMismatch,
  requestOf,
  runEnvironment,
  sha256Json,
  type EpochRecord,
  type RunManifest,
} from "../runs/index.js";
import type { OnNan, Snapshot, TrainingControl } from "../training/control.js";
import { readStateMetadata } from "../training/session/checkpoint.js";
import type { RunRequest } from "./run-group.js";

export const CHECKPOINT_FORMAT = "onnx-unlearn-checkpoint/1";
/** The metadata key holding the checkpoint's JSON. */
const KEY = "run";

export type Resumption = NonNullable<RunManifest["resumed"]>[number];

/** What the job has gathered, besides the method's own: finished epoch records, earlier resumptions. */
export interface JobProgress {
  epochs: EpochRecord[];
  resumed: Resumption[];
}

interface CheckpointRecord {
  format: typeof CHECKPOINT_FORMAT;
  requestSha256: string;
  request: RunRequest;
  snapshot: Snapshot;
  stepCount: number;
  job: JobProgress;
  made: { executionProvider: string; threads?: number; package: string; commit?: string };
}

/** A checkpoint read back: where its run was and what it had gathered. */
export interface LoadedCheckpoint {
  path: string;
  snapshot: Snapshot;
  stepCount: number;
  job: JobProgress;
  made: CheckpointRecord["made"];
}

export const checkpointPath = (dir: string): string => join(dir, CHECKPOINT_FILE);

/**
 * The checkpoint in run folder `dir`, when there is one; one made for another request (other model, data,
 * forget set, seed or configuration) is refused, naming what differs.
 */
export function readRunCheckpoint(dir: string, wanted: RunRequest): LoadedCheckpoint | undefined {
  const path = checkpointPath(dir);
  if (!existsSync(path)) return undefined;
  const text = readStateMetadata(path)[KEY];
  let record: CheckpointRecord;
  try {
    record = JSON.parse(text ?? "") as CheckpointRecord;
  } catch {
    record = {} as CheckpointRecord;
  }
  if (record?.format !== CHECKPOINT_FORMAT || typeof record.requestSha256 !== "string")
    throw new UserError(
      `is not a run checkpoint of this version (${CHECKPOINT_FORMAT}); remove it or pass --no-resume to start the run over`,
      path,
    );
  const damaged = shapeProblem(record);
  if (damaged)
    throw new UserError(`is a damaged run checkpoint (${damaged}); pass --no-resume to start the run over`, path);
  if (record.requestSha256 !== sha256Json(requestOf(wanted))) {
    const why = requestMismatch(record.request, wanted) ?? "its request differs";
    throw new UserError(
      `is the checkpoint of another request: ${why}; pass --no-resume to start this run over, or use another --out`,
      path,
    );
  }
  return { path, snapshot: record.snapshot, stepCount: record.stepCount, job: record.job, made: record.made };
}

const POSITION = fields({ epoch: count, step: count, images: count, skipped: count, lossSum: number, seconds: number });
const JOB = fields({ epochs: list(() => undefined), resumed: list(() => undefined) });

/** What is wrong with a checkpoint record's position and progress (what resuming relies on), or undefined. */
function shapeProblem(r: CheckpointRecord): string | undefined {
  return POSITION(r.snapshot?.position, "position") ?? count(r.stepCount, "stepCount") ?? JOB(r.job, "job");
}

export interface CheckpointOptions {
  dir: string;
  wanted: RunRequest;
  /** Checkpoint every this many steps; checkpoints are also written when the signal stops the run. */
  every?: number;
  signal?: AbortSignal;
  onNan?: OnNan;
  executionProvider: string;
  threads?: number;
  /** The checkpoint to continue from. */
  from?: LoadedCheckpoint;
  /** The job's progress at the moment of a checkpoint. */
  progress: () => JobProgress;
  /** Told after every checkpoint written. */
  onSaved?: (path: string, snapshot: Snapshot) => void;
}

/** The training control of one run: its checkpoints go to `<dir>/checkpoint.safetensors`. */
export function checkpointControl(o: CheckpointOptions): TrainingControl {
  const path = checkpointPath(o.dir);
  const env = runEnvironment();
  return {
    signal: o.signal,
    checkpointEvery: o.every,
    onNan: o.onNan,
    save: (session, snapshot) => {
      const record: CheckpointRecord = {
        format: CHECKPOINT_FORMAT,
        requestSha256: sha256Json(requestOf(o.wanted)),
        request: o.wanted,
        snapshot,
        stepCount: session.stepCount,
        job: o.progress(),
        made: { executionProvider: o.executionProvider, threads: o.threads, package: env.package, commit: env.commit },
      };
      session.saveState(path, { [KEY]: JSON.stringify(record) });
      o.onSaved?.(path, snapshot);
    },
    resume: o.from && { snapshot: o.from.snapshot, restore: (session) => void session.loadState(path) },
  };
}

/** What a resumed run's manifest should say about where it continued from and what changed meanwhile. */
export function resumeNotes(from: LoadedCheckpoint, now: { executionProvider: string; threads?: number }): string[] {
  const notes: string[] = [];
  const { made } = from;
  const threads = (t?: number) => (t === undefined ? "the default threads" : `${t} thread(s)`);
  if (made.executionProvider !== now.executionProvider || made.threads !== now.threads)
    notes.push(
      `resumed on ${now.executionProvider} with ${threads(now.threads)} a run begun on ${made.executionProvider} with ${threads(made.threads)}: its last bits may differ from a run made in one go`,
    );
  const env = runEnvironment();
  if (made.package !== env.package || made.commit !== env.commit)
    notes.push(
      `resumed with onnx-unlearn ${env.package}${env.commit ? ` (${env.commit.slice(0, 12)})` : ""} a run begun with ${made.package}${made.commit ? ` (${made.commit.slice(0, 12)})` : ""}`,
    );
  return notes;
}
