/**
 * Run folders as evaluation inputs (for `score --unlearned/--retrained` and `report <run folders>`): the runs
 * under a path, all complete and none missing; checks that runs were made on the same data and forget set; the
 * data set and forget set reopened from the manifests and checked against their recorded hashes; and each run
 * evaluated through its cache (evaluateTarget) with the normalisation it was made with.
 */
import { basename } from "node:path";
import {
  datasetIdentity,
  openSource,
  parseForgetSpec,
  selectForget,
  type Dataset,
  type DatasetIdentity,
  type ForgetSet,
  type OpenSourceOptions,
  type Seed,
} from "../data/index.js";
import { UserError } from "../errors.js";
import { canonicalJson, listRuns, readManifest, sha256Ids, type RunManifest } from "../runs/index.js";
import type { ExecutionProvider } from "../training/session/index.js";
import { evaluateTarget, runNormalisation, type EvalRecord } from "./eval-cache.js";

export interface Run {
  dir: string;
  manifest: RunManifest;
}

export interface EvaluatedRun extends Run {
  record: EvalRecord;
  /** True when the evaluation came from the run's cache. */
  cached: boolean;
}

/**
 * For when the data or forget set cannot be reopened as the manifests record them (files moved, an id list
 * recorded only by its count). What they give is checked against the recorded hashes all the same.
 */
export interface RunDataOptions {
  /** Data source spec instead of the manifests' data.spec. */
  data?: string;
  /** Decoded-data cache folder (fashion-mnist, mnist). */
  cacheDir?: string;
  /** Forget spec instead of the one the manifests record, with its seed (default: the runs' forgetSeed). */
  forget?: string;
  forgetSeed?: number;
}

export interface RunEvalOptions {
  /** Default 256. */
  batchSize?: number;
  executionProvider?: ExecutionProvider;
  intraOpThreads?: number;
  /** Refuse to evaluate a run whose peak-memory estimate is above this (bytes or "8GiB"); default: the machine's memory. */
  memoryBudget?: number | string;
  /** Called after each run is evaluated (or read from its cache). */
  onRun?: (run: EvaluatedRun) => void;
}

export interface RunsData {
  dataset: Dataset;
  forget: ForgetSet;
  /** The split-shaping options of the manifests' data identity (for the evaluation cache key). */
  dataOptions: Record<string, unknown>;
  identity: DatasetIdentity;
}

/** The complete runs under `path` (a run folder, or a folder of run-NNN runs), by run index. */
export function readRunGroup(path: string): Run[] {
  const dirs = listRuns(path);
  if (dirs.length === 0)
    throw new UserError("is neither a run folder (manifest.json + model.onnx) nor a group of run-NNN folders", path);
  const incomplete = dirs.filter((d) => !readManifest(d));
  if (incomplete.length) {
    const more =
      incomplete.length > 1 ? `; so ${incomplete.length > 2 ? "are" : "is"} ${names(incomplete.slice(1))}` : "";
    throw new UserError(
      `is incomplete (no valid manifest.json: still running, or stopped; rerun its command to finish it)${more}`,
      incomplete[0],
    );
  }
  const runs = dirs
    .map((dir) => ({ dir, manifest: readManifest(dir)! }))
    .sort((a, b) => a.manifest.run.index - b.manifest.run.index);
  if (dirs.length > 1 || dirs[0] !== path) {
    const of = runs.reduce((m, r) => Math.max(m, r.manifest.run.of), 0);
    const have = new Set(runs.map((r) => r.manifest.run.index));
    // every index is below run.of (manifest-check.ts): of - have.size are missing; name the first three
    const count = of - have.size;
    if (count > 0) {
      const first: number[] = [];
      for (let i = 0; first.length < Math.min(3, count); i++) if (!have.has(i)) first.push(i);
      const list = first.map((i) => `run-${String(i).padStart(3, "0")}`);
      throw new UserError(
        `${list.join(", ")}${count > 3 ? ` and ${count - 3} more` : ""} ${count > 1 ? "are" : "is"} missing ` +
          `(the manifests say --runs ${of}; found ${runs.length})`,
        path,
      );
    }
  }
  return runs;
}

const names = (dirs: string[]) => dirs.map((d) => basename(d)).join(", ");
const short = (hash: unknown) => (typeof hash === "string" ? `${hash.slice(0, 12)}...` : String(hash));

/** The fields of a manifest's data identity that must agree, with their values. */
function dataFields(m: RunManifest): [string, string][] {
  const d = m.data as Partial<DatasetIdentity>;
  return [
    ["data.spec", String(d.spec)],
    ["data.options", canonicalJson(d.options ?? {})],
    ["data.shape", String(d.shape)],
    ["data.train.sha256", short(d.train?.sha256)],
    ["data.validation.sha256", short(d.validation?.sha256)],
    ["data.test.sha256", short(d.test?.sha256)],
  ];
}

/**
 * Refuses a run made on other data, or with another forget set, than `reference`: one line naming the run and
 * the field. Runs without a forget set (originals) are compared on the data only.
 */
export function checkSameData(runs: Run[], reference: Run = runs[0]!): void {
  const want = dataFields(reference.manifest);
  const owner = [reference, ...runs].find((r) => r.manifest.forget);
  for (const run of runs) {
    const got = dataFields(run.manifest);
    for (let i = 0; i < want.length; i++) {
      if (got[i]![1] !== want[i]![1])
        throw new UserError(
          `${got[i]![0]} is ${got[i]![1]}, ${reference.dir} has ${want[i]![1]}: the runs were made on different data`,
          run.dir,
        );
    }
    const f = run.manifest.forget;
    if (f && owner && f.idsSha256 !== owner.manifest.forget!.idsSha256) {
      const g = owner.manifest.forget!;
      throw new UserError(
        `forget.idsSha256 is ${short(f.idsSha256)} (${f.spec}, ${f.count} ids), ${owner.dir} has ` +
          `${short(g.idsSha256)} (${g.spec}, ${g.count} ids): the runs forget different examples`,
        run.dir,
      );
    }
  }
}

/**
 * The data set and forget set the runs were made with, reopened from the first run's manifest (or the
 * overrides) and checked against the recorded split and forget-id hashes. The runs must agree (checkSameData).
 */
export async function openRunsData(runs: Run[], o: RunDataOptions = {}): Promise<RunsData> {
  const ref = runs[0]!;
  const identity = ref.manifest.data as unknown as DatasetIdentity;
  const spec = o.data ?? identity.spec;
  const dataOptions: Record<string, unknown> = { ...(identity.options ?? {}) };
  let dataset: Dataset;
  try {
    dataset = await openSource(spec, {
      ...dataOptions,
      ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
    } as OpenSourceOptions);
  } catch (e) {
    if (!(e instanceof UserError) || o.data !== undefined) throw e;
    throw new UserError(`${e.message} (the data of ${ref.dir}, as its manifest records it; give --data if it moved)`);
  }
  const got = datasetIdentity(dataset, dataOptions);
  for (const split of ["train", "validation", "test"] as const) {
    if (got[split].sha256 !== identity[split]?.sha256)
      throw new UserError(
        `its ${split} split (${got[split].count} examples, sha256 ${short(got[split].sha256)}) is not the one the runs ` +
          `were made on (${identity[split]?.count} examples, sha256 ${short(identity[split]?.sha256)} in ${ref.dir})`,
        spec,
      );
  }
  return { dataset, forget: runsForget(runs, dataset, o), dataOptions, identity: got };
}

/** The forget set of the runs: the recorded spec and seed (or the override), checked against forget.idsSha256. */
function runsForget(runs: Run[], dataset: Dataset, o: RunDataOptions): ForgetSet {
  const owner = runs.find((r) => r.manifest.forget);
  const record = owner?.manifest.forget;
  if (o.forget === undefined && !owner)
    throw new UserError(
      `no run records a forget set (originals and --retain-only runs have none): give --forget`,
      runs[0]!.dir,
    );
  let spec = o.forget;
  let seed: Seed | undefined = o.forgetSeed;
  if (spec === undefined) {
    // selectForget's description: "random:500 (seed 0)", "classes:3", "ids:<file>" or "ids:<n> ids"
    const m = /^(.*) \(seed (.+)\)$/.exec(record!.spec);
    spec = m ? m[1]! : record!.spec;
    if (/^ids:\d+ ids$/.test(spec))
      throw new UserError(
        `records its forget set only as ${record!.count} ids (no file to reopen): give --forget ids:<file>`,
        owner!.dir,
      );
    seed ??= owner!.manifest.run.forgetSeed ?? (m ? (/^-?\d+$/.test(m[2]!) ? Number(m[2]) : m[2]) : undefined);
  }
  seed ??= owner?.manifest.run.forgetSeed ?? 0;
  let forget: ForgetSet;
  try {
    forget = selectForget(dataset, parseForgetSpec(spec), { seed });
  } catch (e) {
    if (!(e instanceof UserError) || o.forget !== undefined) throw e;
    throw new UserError(`${e.message} (the forget set of ${owner!.dir}; give --forget if its id list moved)`);
  }
  if (record && sha256Ids(forget.ids) !== record.idsSha256)
    throw new UserError(
      `forget set ${forget.description} selects other examples (sha256 ${short(sha256Ids(forget.ids))}) than the ` +
        `runs were made with (${record.spec}, ${record.count} ids, sha256 ${short(record.idsSha256)} in ${owner!.dir})`,
    );
  return forget;
}

/**
 * Evaluates each run (or reads its cached evaluation) on the runs' data and forget set, with the normalisation
 * its manifest records. A run whose forget-set confidences are not finite numbers (NaN or infinite logits) is
 * refused, naming the run and the example.
 */
export async function evaluateRuns(runs: Run[], data: RunsData, o: RunEvalOptions = {}): Promise<EvaluatedRun[]> {
  const out: EvaluatedRun[] = [];
  for (const run of runs) {
    const { record, cached } = await evaluateTarget({
      target: run.dir,
      dataset: data.dataset,
      forget: data.forget,
      dataOptions: data.dataOptions,
      normalisation: runNormalisation(run.dir) ?? undefined,
      seed: 0,
      batchSize: o.batchSize,
      executionProvider: o.executionProvider,
      intraOpThreads: o.intraOpThreads,
      memoryBudget: o.memoryBudget,
    }).catch((e: unknown) => {
      // name the run: the evaluation names only its model file
      if (e instanceof UserError && !e.message.includes(run.dir)) throw new UserError(e.message, run.dir);
      throw e;
    });
    const confs = record.evaluation.forget.confidences;
    const bad = confs.findIndex((c) => typeof c !== "number" || !Number.isFinite(c));
    if (bad >= 0)
      throw new UserError(
        `forget example ${record.evaluation.forget.ids[bad]} has confidence ${String(confs[bad] ?? "NaN")}: the model ` +
          `gives NaN or infinite logits`,
        run.dir,
      );
    const evaluated = { ...run, record, cached };
    o.onRun?.(evaluated);
    out.push(evaluated);
  }
  return out;
}
