/**
 * Run folders: one model and the manifest that says how it was made.
 *
 *   <run>/model.onnx      the model (same graph, names and opset as its input; new initializers)
 *   <run>/manifest.json   written last: its presence makes the run complete
 *   <run>/eval/           cached evaluations (`eval`)
 *   <run>/checkpoint.safetensors   while the run is being made (--checkpoint-every, Ctrl-C): where it continues from
 *
 * A group of runs (`--runs N`) is a folder of run-000, run-001, ... subfolders. A folder without a valid
 * manifest is incomplete: it is cleared and redone on the next attempt; a complete one is skipped.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { canonicalJson } from "./hash.js";
import { isManifest, requestOf, type RunManifest } from "./manifest.js";

export const MODEL_FILE = "model.onnx";
export const MANIFEST_FILE = "manifest.json";
/** An unfinished run's checkpoint (state tensors, where the run is); removed when the run finishes. */
export const CHECKPOINT_FILE = "checkpoint.safetensors";
/** What a run folder may hold; anything else means the folder is not ours to clear. */
const OWN_ENTRIES = new Set([MODEL_FILE, MANIFEST_FILE, "eval", CHECKPOINT_FILE, "events.jsonl", "claim"]);

export type RunState = "absent" | "incomplete" | "complete";

export const runDirName = (index: number): string => `run-${String(index).padStart(3, "0")}`;

/** The folder of run `index` in a group under `root`; a single run (`of` 1 and not grouped) is `root` itself. */
export function runDir(root: string, index: number, grouped: boolean): string {
  return grouped ? join(root, runDirName(index)) : root;
}

export function runState(dir: string): RunState {
  if (!existsSync(join(dir, MANIFEST_FILE))) return existsSync(dir) ? "incomplete" : "absent";
  return readManifest(dir) ? "complete" : "incomplete";
}

/** The manifest of a complete run, or undefined when there is none (or it is not a complete manifest). */
export function readManifest(dir: string): RunManifest | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, MANIFEST_FILE), "utf8");
  } catch {
    return undefined;
  }
  try {
    const v: unknown = JSON.parse(text);
    return isManifest(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Like readManifest, for a folder that must be a complete run. */
export function requireRun(dir: string): RunManifest {
  const m = readManifest(dir);
  if (!m) {
    const why = existsSync(dir) ? "is not a complete run folder (no valid manifest.json)" : "does not exist";
    throw new UserError(why, dir);
  }
  return m;
}

/**
 * Prepares `dir` for a new attempt: creates it, or clears what an interrupted attempt left (its checkpoint too,
 * unless `keepCheckpoint`: the attempt continues from it).
 */
export function beginRun(dir: string, o: { keepCheckpoint?: boolean } = {}): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new UserError("expected a run folder, found a file", dir);
    const foreign = readdirSync(dir).filter((e) => !OWN_ENTRIES.has(e) && !/^\..*\.tmp$/.test(e));
    if (foreign.length) {
      throw new UserError(
        `is not a run folder (holds ${foreign.slice(0, 3).join(", ")}${foreign.length > 3 ? ", ..." : ""}); choose an empty or new folder`,
        dir,
      );
    }
    const keep = new Set(["claim", ...(o.keepCheckpoint ? [CHECKPOINT_FILE] : [])]);
    for (const e of readdirSync(dir)) if (!keep.has(e)) rmSync(join(dir, e), { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
}

/** Completes a run: the manifest lands last, atomically (the model must already be in place). */
export function finishRun(dir: string, manifest: RunManifest): void {
  if (!existsSync(join(dir, manifest.output.model)))
    throw new Error(`finishRun: ${dir} has no ${manifest.output.model}`);
  writeFileAtomic(join(dir, MANIFEST_FILE), new TextEncoder().encode(JSON.stringify(manifest, null, 2) + "\n"));
  rmSync(join(dir, CHECKPOINT_FILE), { force: true });
}

/**
 * Whether a complete run answers the same request; if not, the one-line reason (which field differs), so a
 * run folder made from another model, data, forget set, seed or configuration is never taken for this one.
 */
export function requestMismatch(
  done: Parameters<typeof requestOf>[0],
  wanted: Parameters<typeof requestOf>[0],
): string | undefined {
  const a = requestOf(done);
  const b = requestOf(wanted);
  for (const key of Object.keys(a) as (keyof typeof a)[]) {
    if (canonicalJson(a[key]) !== canonicalJson(b[key]))
      return `it was made with another ${key === "input" ? "input model" : key}`;
  }
  return undefined;
}

/** The run folders under `path`: the folder itself when it is a run, else its run-NNN subfolders, in order. */
export function listRuns(path: string): string[] {
  if (!existsSync(path)) throw new UserError("does not exist", path);
  if (existsSync(join(path, MANIFEST_FILE)) || existsSync(join(path, MODEL_FILE))) return [path];
  return readdirSync(path)
    .filter((e) => /^run-\d{3,}$/.test(e))
    .sort()
    .map((e) => join(path, e));
}
