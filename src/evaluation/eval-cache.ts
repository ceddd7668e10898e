/**
 * Cached evaluations in a run folder: `<run>/eval/<key>.json`, one file per (model, data, forget set, settings).
 * The key is the start of a sha256 over the model file's sha256, the data set's identity (datasetIdentity), the
 * forget ids' sha256 and the settings that change what is measured (normalisation, seed, retain logit sample,
 * MIA splits). How it was computed (batch size, execution provider) is recorded, not keyed: it moves the numbers
 * only by float rounding.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { datasetIdentity, type DatasetIdentity, type ForgetSet, type Normalisation } from "../data/index.js";
import { UserError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { loadModel } from "../onnx/model-io.js";
import {
  readManifest,
  requireRun,
  runEnvironment,
  sha256File,
  sha256Ids,
  sha256Json,
  type RunEnvironment,
  type RunManifest,
} from "../runs/index.js";
import { checkMemory, resolveMemoryBudget } from "../training/memory/index.js";
import { EVAL_BATCH_SIZE } from "./accuracy.js";
import { evaluateModel, type EvalModelOptions, type ModelEvaluation } from "./eval-model.js";

export const EVAL_FORMAT = "onnx-unlearn-eval/1";
export const EVAL_DIR = "eval";

/** What an evaluation measures with: part of the key. */
export interface EvalSettings {
  normalisation: Normalisation | null;
  seed: string;
  retainLogits: number;
  miaSplits: number;
  miaTestFraction: number;
}

export interface EvalRecord {
  format: typeof EVAL_FORMAT;
  key: string;
  model: { file: string; sha256: string };
  data: DatasetIdentity;
  forget: { spec: string; count: number; idsSha256: string };
  settings: EvalSettings;
  /** How it was computed: not part of the key. */
  computed: { batchSize: number; executionProvider: string; finished: string; environment: RunEnvironment };
  /** Disagreements with the run's manifest (another data set or forget set than the run was made with). */
  notes: string[];
  evaluation: ModelEvaluation;
}

export type EvalKeyInput = Pick<EvalRecord, "model" | "data" | "settings"> & { forget: ForgetSet };

export function forgetRecord(forget: ForgetSet): EvalRecord["forget"] {
  return { spec: forget.description, count: forget.ids.length, idsSha256: sha256Ids(forget.ids) };
}

/** 16 hex digits (64 bits) of sha256 over what the evaluation measures. */
export function evalKey(k: EvalKeyInput): string {
  return sha256Json({
    format: EVAL_FORMAT,
    model: k.model.sha256,
    data: k.data,
    forget: sha256Ids(k.forget.ids),
    settings: k.settings,
  }).slice(0, 16);
}

export function evalCachePath(runFolder: string, key: string): string {
  return join(runFolder, EVAL_DIR, `${key}.json`);
}

/** The cached record of `key`, or undefined when there is none or it is not a complete record of that key. */
export function readCachedEval(runFolder: string, key: string): EvalRecord | undefined {
  const path = evalCachePath(runFolder, key);
  if (!existsSync(path)) return undefined;
  try {
    const v = JSON.parse(readFileSync(path, "utf8")) as Partial<EvalRecord> | null;
    return isEvalRecord(v) && v.key === key ? v : undefined;
  } catch {
    return undefined;
  }
}

export function isEvalRecord(v: unknown): v is EvalRecord {
  const r = v as Partial<EvalRecord> | null;
  return (
    !!r &&
    typeof r === "object" &&
    r.format === EVAL_FORMAT &&
    typeof r.key === "string" &&
    typeof r.model?.sha256 === "string" &&
    typeof r.forget?.idsSha256 === "string" &&
    typeof r.evaluation?.splits === "object" &&
    Array.isArray(r.evaluation?.forget?.confidences)
  );
}

/** Writes the record atomically to `<run>/eval/<key>.json` and returns the path. */
export function writeCachedEval(runFolder: string, record: EvalRecord): string {
  mkdirSync(join(runFolder, EVAL_DIR), { recursive: true });
  const path = evalCachePath(runFolder, record.key);
  writeFileAtomic(path, new TextEncoder().encode(JSON.stringify(record) + "\n"));
  return path;
}

export function computedBy(batchSize: number, executionProvider: string): EvalRecord["computed"] {
  return { batchSize, executionProvider, finished: new Date().toISOString(), environment: runEnvironment() };
}

export interface EvaluateTargetOptions extends Omit<EvalModelOptions, "model"> {
  /** A run folder (model.onnx + manifest.json, as `train`/`unlearn` write) or a model file. */
  target: string;
  /** The source options that shaped the data set, for its identity (datasetIdentity). */
  dataOptions?: Record<string, unknown>;
  /** Read and write the run folder's cache (default true; a bare model file is never cached). */
  cache?: boolean;
  /** Refuse to evaluate when the peak-memory estimate is above this (bytes or "8GiB"); default: the machine's memory. */
  memoryBudget?: number | string;
}

export interface EvalOutcome {
  record: EvalRecord;
  /** True when the record was read from the cache. */
  cached: boolean;
  /** The cache file read or written (run folders only). */
  cacheFile?: string;
}

/** Evaluates a run folder's model (through its cache) or a model file. */
export async function evaluateTarget(o: EvaluateTargetOptions): Promise<EvalOutcome> {
  const budget = resolveMemoryBudget(o.memoryBudget);
  const isFolder = existsSync(o.target) && statSync(o.target).isDirectory();
  const manifest = isFolder ? requireRun(o.target) : undefined;
  const modelPath = manifest ? join(o.target, manifest.output.model) : o.target;
  const model = loadModel(modelPath);
  const sha256 = sha256File(modelPath);
  if (manifest && manifest.output.sha256 !== sha256)
    throw new UserError(
      `does not match its manifest (sha256 ${sha256.slice(0, 12)}..., the manifest says ${manifest.output.sha256.slice(0, 12)}...): the run folder was changed after the run`,
      modelPath,
    );
  const settings: EvalSettings = {
    normalisation: o.normalisation ?? null,
    seed: String(o.seed ?? 0),
    retainLogits: o.retainLogits ?? 1000,
    miaSplits: o.miaSplits ?? 10,
    miaTestFraction: o.miaTestFraction ?? 0.1,
  };
  const keyed: EvalKeyInput = {
    model: { file: modelPath, sha256 },
    data: datasetIdentity(o.dataset, o.dataOptions),
    forget: o.forget,
    settings,
  };
  const key = evalKey(keyed);
  const useCache = isFolder && o.cache !== false;
  if (useCache) {
    const hit = readCachedEval(o.target, key);
    if (hit) return { record: hit, cached: true, cacheFile: evalCachePath(o.target, key) };
  }
  const batchSize = o.batchSize ?? EVAL_BATCH_SIZE;
  await checkMemory({ model, stages: [{ what: "eval", use: "inference", batchSize }], dataset: o.dataset, budget });
  const evaluation = await evaluateModel({ ...o, model });
  const record: EvalRecord = {
    format: EVAL_FORMAT,
    key,
    model: keyed.model,
    data: keyed.data,
    forget: forgetRecord(o.forget),
    settings,
    computed: computedBy(batchSize, o.executionProvider ?? "cpu"),
    notes: manifest ? manifestNotes(manifest, keyed.data, o.forget) : [],
    evaluation,
  };
  return useCache ? { record, cached: false, cacheFile: writeCachedEval(o.target, record) } : { record, cached: false };
}

/** Where the data or forget set differ from those the run was made with (allowed, but worth saying). */
function manifestNotes(m: RunManifest, data: DatasetIdentity, forget: ForgetSet): string[] {
  const notes: string[] = [];
  const made = m.data as Partial<DatasetIdentity>;
  const differs = (["train", "validation", "test"] as const).filter(
    (s) => made[s]?.sha256 !== undefined && made[s]?.sha256 !== data[s].sha256,
  );
  if (made.spec !== undefined && made.spec !== data.spec)
    notes.push(`the run was made on ${made.spec}, evaluated on ${data.spec}`);
  else if (differs.length) notes.push(`the ${differs.join(", ")} split(s) differ from those the run was made with`);
  if (m.forget && m.forget.idsSha256 !== sha256Ids(forget.ids))
    notes.push(
      `the run was made with forget set ${m.forget.spec} (${m.forget.count} examples), evaluated with another`,
    );
  return notes;
}

/** The normalisation a run was made with (its manifest's config.normalisation): null for none, undefined if unknown. */
export function runNormalisation(runFolder: string): Normalisation | null | undefined {
  const n = readManifest(runFolder)?.config.normalisation as Partial<Normalisation> | string | undefined;
  if (n === "none") return null;
  if (n && typeof n === "object" && Array.isArray(n.mean) && Array.isArray(n.std)) return { mean: n.mean, std: n.std };
  return undefined;
}
