/**
 * Report inputs from run folders and eval records. A run folder or group of runs becomes one ReportModel
 * (role from its manifest, numbers from its cached evaluations, made when missing); with an unlearned and a
 * retrained group the report also gets the challenge score (scoreRuns' rules). An eval record (`eval --json`
 * output, or `<run>/eval/<key>.json`) becomes a one-run model.
 */
import { basename, dirname } from "node:path";
import type { DatasetIdentity } from "../../data/index.js";
import { UserError } from "../../errors.js";
import { hostLabel, readManifest, type RunManifest } from "../../runs/index.js";
import type { EvalRecord } from "../eval-cache.js";
import {
  checkSameData,
  evaluateRuns,
  openRunsData,
  readRunGroup,
  type Run,
  type RunDataOptions,
  type RunEvalOptions,
} from "../run-data.js";
import { checkScorePair, scoreEvaluated } from "../run-scores.js";
import { type ModelRole, type ReportFacts, type ReportInput, type ReportModel } from "./types.js";

export interface ReportFromRunsOptions extends RunDataOptions, RunEvalOptions {
  /** Default: from the data and forget set. */
  title?: string;
  /** What was decided on the way (no score: N < 2, a bare model shown as a baseline). */
  onNote?: (note: string) => void;
}

export const LOGITS_LABEL = "logit of the true class";

/** A run's role: train on retain = retrained, train on train = original, stochastic = unlearned, else baseline. */
export function roleOf(m: RunManifest): ModelRole {
  if (m.kind === "train") return m.config.trainedOn === "retain" ? "retrained" : "original";
  return m.method === "stochastic" ? "unlearned" : "baseline";
}

const a = (role: string) => `${/^[aeiou]/.test(role) ? "an" : "a"} ${role}`;
const nameOf = (m: RunManifest) => (m.kind === "train" ? roleOf(m) : m.method);

/** One ReportInput from run folders and groups of runs: every path one model (see the module comment). */
export async function reportFromRuns(paths: string[], o: ReportFromRunsOptions = {}): Promise<ReportInput> {
  const groups = paths.map((path) => ({ path, runs: readRunGroup(path) }));
  for (const g of groups) {
    const first = g.runs[0]!;
    for (const run of g.runs)
      if (roleOf(run.manifest) !== roleOf(first.manifest) || run.manifest.method !== first.manifest.method)
        throw new UserError(
          `is ${a(roleOf(run.manifest))} run (${run.manifest.method}), ${first.dir} ${a(roleOf(first.manifest))} run ` +
            `(${first.manifest.method}): a group holds runs of one kind`,
          run.dir,
        );
  }
  const all = groups.flatMap((g) => g.runs);
  checkSameData(all, all.find((r) => r.manifest.forget) ?? all[0]);
  checkOriginal(all);
  const data = await openRunsData(all, o);
  const evaluated = [];
  for (const g of groups) evaluated.push({ ...g, runs: await evaluateRuns(g.runs, data, o) });
  evaluated.sort((a, b) => roleRank(a.runs[0]!.manifest) - roleRank(b.runs[0]!.manifest));

  const names = uniqueNames(evaluated.map((g) => ({ path: g.path, name: nameOf(g.runs[0]!.manifest) })));
  const models = evaluated.map((g, i) => modelOf(names[i]!, roleOf(g.runs[0]!.manifest), g.runs));
  const input: ReportInput = {
    title: o.title ?? `Unlearning report: ${data.identity.spec}, forget set ${data.forget.description}`,
    logitsLabel: LOGITS_LABEL,
    models,
    facts: runFacts(all, data.identity),
  };
  const ui = evaluated.findIndex((g) => roleOf(g.runs[0]!.manifest) === "unlearned");
  const ri = evaluated.findIndex((g) => roleOf(g.runs[0]!.manifest) === "retrained");
  if (ui >= 0 && ri >= 0) {
    const u = evaluated[ui]!.runs;
    const r = evaluated[ri]!.runs;
    checkScorePair(u, r);
    const n = Math.min(u.length, r.length);
    if (n < 2) o.onNote?.(`no score: it needs N >= 2 unlearned and retrained runs (have ${u.length} and ${r.length})`);
    else {
      if (u.length !== r.length)
        o.onNote?.(`score: the first ${n} runs of each of ${u.length} unlearned and ${r.length} retrained`);
      const s = scoreEvaluated(u.slice(0, n), r.slice(0, n));
      input.score = {
        model: names[ui],
        forgetScore: s.forget.F,
        forgetScoreLow: s.forget.interval.low,
        forgetScoreHigh: s.forget.interval.high,
        finalScore: s.finalScore,
        n,
        s: s.forget.S,
        epsilons: Array.from(s.forget.epsilons),
      };
    }
  }
  return input;
}

/** Unlearned runs must come from one model: the original, when one is given. */
function checkOriginal(runs: Run[]): void {
  const originals = runs.filter((r) => roleOf(r.manifest) === "original");
  const unlearned = runs.filter((r) => r.manifest.kind === "unlearn");
  const from = originals[0] ?? unlearned[0];
  if (!from) return;
  const hashes = new Set(
    originals.length ? originals.map((r) => r.manifest.output.sha256) : [from.manifest.input.sha256],
  );
  const what = originals.length ? "output.sha256" : "input.sha256";
  const want = originals.length ? from.manifest.output.sha256 : from.manifest.input.sha256;
  for (const run of unlearned)
    if (!hashes.has(run.manifest.input.sha256))
      throw new UserError(
        `input.sha256 is ${short(run.manifest.input.sha256)}, not the ${originals.length ? "original given" : "model the others unlearned from"} ` +
          `(${from.dir}, ${what} ${short(want)}): unlearned from another model`,
        run.dir,
      );
}

const short = (hash: string | undefined) => (hash === undefined ? "absent" : `${hash.slice(0, 12)}...`);

const ROLE_ORDER: ModelRole[] = ["original", "baseline", "unlearned", "retrained"];
const roleRank = (m: RunManifest) => ROLE_ORDER.indexOf(roleOf(m));

/** Default names; where two groups share one, each of those takes its folder's name (then a number). */
function uniqueNames(groups: { path: string; name: string }[]): string[] {
  const count = (names: string[], n: string) => names.filter((x) => x === n).length;
  let names = groups.map((g) => g.name);
  names = names.map((n, i) => (count(names, n) > 1 ? basename(groups[i]!.path) || n : n));
  return names.map((n, i) => (count(names, n) > 1 ? `${n} (${i + 1})` : n));
}

const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;

/** True-class logits of the forget set and the retain sample, pooled over the records. */
export function trueClassLogits(records: EvalRecord[]): { forget: number[]; retain: number[] } {
  const pick = (s: { logits: number[][]; labels: number[] }) => s.logits.map((z, i) => z[s.labels[i]!]!);
  const finite = (a: number[]) => a.filter((x) => typeof x === "number" && Number.isFinite(x));
  return {
    forget: finite(records.flatMap((r) => pick(r.evaluation.forget))),
    retain: finite(records.flatMap((r) => pick(r.evaluation.retainSample))),
  };
}

/** A ReportModel from evaluated runs (or eval records with their manifests when known). */
function modelOf(name: string, role: ModelRole, runs: { record: EvalRecord; manifest?: RunManifest }[]): ReportModel {
  const records = runs.map((r) => r.record);
  const accuracy: ReportModel["accuracy"] = {};
  for (const split of ["retain", "forget", "validation", "test"] as const) {
    const values = records.map((r) => r.evaluation.splits[split]?.accuracy).filter((v) => v !== undefined);
    if (values.length === records.length && values.length) accuracy[split] = 100 * mean(values);
  }
  const model: ReportModel = { name, role, runs: runs.length, logits: trueClassLogits(records), accuracy };
  const mia = records.map((r) => r.evaluation.mia?.accuracy).filter((v) => v !== undefined);
  if (mia.length) model.mia = mean(mia);
  const seconds = runs.map((r) => r.manifest?.seconds.total).filter((v) => v !== undefined);
  if (seconds.length) model.secondsPerRun = mean(seconds);
  return model;
}

/** "npy:x.npy,y.npy" plus its split-shaping options: equal for equal data, so merged inputs can compare it. */
export function dataSourceFact(d: Pick<DatasetIdentity, "spec" | "options">): string {
  const opts = Object.entries(d.options ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  return opts.length ? `${d.spec} (${opts.map(([k, v]) => `${k}=${String(v)}`).join(", ")})` : d.spec;
}

export const hashFact = (sha256: string, count?: number) =>
  `sha256:${sha256.slice(0, 16)}…${count === undefined ? "" : ` (${count} ids)`}`;

const joined = (values: (string | undefined)[]) => {
  const distinct = [...new Set(values.filter((v): v is string => !!v))];
  return distinct.length ? distinct.join("; ") : undefined;
};

/** Data source, forget-id and original-model hashes, commits, hosts and the dates the runs finished. */
function runFacts(runs: Run[], identity: DatasetIdentity): ReportFacts {
  const forget = runs.find((r) => r.manifest.forget)?.manifest.forget;
  const original =
    runs.find((r) => r.manifest.kind === "unlearn")?.manifest.input.sha256 ??
    runs.find((r) => roleOf(r.manifest) === "original")?.manifest.output.sha256;
  const dates = runs.map((r) => r.manifest.finished).sort();
  const facts: ReportFacts = {
    dataSource: dataSourceFact(identity),
    ...(forget ? { forgetIdsHash: hashFact(forget.idsSha256, forget.count) } : {}),
    ...(original ? { originalModelHash: hashFact(original) } : {}),
    commit: joined(runs.map((r) => r.manifest.environment.commit)),
    host: joined(runs.map((r) => hostOf(r.manifest.environment.host))),
    date: dates[0] === dates.at(-1) ? dates[0] : `${dates[0]} to ${dates.at(-1)}`,
  };
  for (const k of Object.keys(facts) as (keyof ReportFacts)[]) if (facts[k] === undefined) delete facts[k];
  return facts;
}

const hostOf = (h: RunManifest["environment"]["host"] | undefined) => h && hostLabel(h);

/**
 * An eval record as a one-run report: role, name and time from the run folder beside its model file when that
 * run's manifest names the same model; a bare model file is shown as a baseline named after its file.
 */
export function reportFromEvalRecord(record: EvalRecord, source: string, onNote?: (note: string) => void): ReportInput {
  const dir = dirname(record.model.file);
  const found = readManifest(dir);
  const manifest = found?.output.sha256 === record.model.sha256 ? found : undefined;
  let name: string;
  let role: ModelRole;
  if (manifest) {
    role = roleOf(manifest);
    name = `${nameOf(manifest)} (${basename(dir)})`;
  } else {
    role = "baseline";
    name = basename(record.model.file).replace(/\.onnx$/i, "");
    onNote?.(`${source}: no run manifest beside ${record.model.file}; shown as a baseline named '${name}'`);
  }
  const original =
    manifest?.kind === "unlearn" ? manifest.input.sha256 : role === "original" ? record.model.sha256 : undefined;
  const env = manifest?.environment ?? record.computed.environment;
  const facts: ReportFacts = {
    dataSource: dataSourceFact(record.data),
    forgetIdsHash: hashFact(record.forget.idsSha256, record.forget.count),
    ...(original ? { originalModelHash: hashFact(original) } : {}),
    ...(env.commit ? { commit: env.commit } : {}),
    ...(env.host ? { host: hostOf(env.host)! } : {}),
    date: manifest?.finished ?? record.computed.finished,
  };
  return {
    title: `Unlearning report: ${record.data.spec}, forget set ${record.forget.spec}`,
    logitsLabel: LOGITS_LABEL,
    models: [modelOf(name, role, [{ record, manifest }])],
    facts,
  };
}
