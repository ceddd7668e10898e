/**
 * The benchmark's score stage: every finished run evaluated (cached in its run folder), each method scored with
 * the challenge metric against the first N retrained runs, the ideal (retrained runs N..2N-1 scored the same way),
 * and the results as JSON, a markdown table and the HTML report.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { openSource, parseForgetSpec, selectForget, type Dataset, type ForgetSet } from "../../data/index.js";
import {
  pairedDifference,
  pairedFinalDifference,
  scoreConfs,
  type ChallengeScore,
  type PairedDifference,
} from "../../evaluation/challenge-score/index.js";
import { evaluateTarget, type EvalRecord } from "../../evaluation/eval-cache.js";
import { confsInputOf } from "../../evaluation/run-scores.js";
import { renderReport, writeReport, type ReportInput, type ReportModel } from "../../evaluation/report/index.js";
import { trueClassLogits } from "../../evaluation/report/from-runs.js";
import { writeFileAtomic } from "../../io/atomic-write.js";
import { ALL_RUNS, hostLabel, listRuns, readManifest, runEnvironment, type RunManifest } from "../../runs/index.js";
import type { BenchmarkOptions } from "./benchmark.js";
import { suiteFolders } from "./benchmark.js";
import { runsOf } from "./suites.js";
import { resultsMarkdown } from "./markdown.js";

export interface MethodResult {
  method: string;
  label: string;
  group: string;
  /** Runs scored (N) and forget examples (S). */
  runs: number;
  S: number;
  F: number;
  F_low: number;
  F_high: number;
  final: number;
  /** Mean accuracies over the runs, percent. */
  RA: number;
  TA: number;
  FA: number;
  mia: number;
  /** Mean wall seconds per run, and as a share of a retraining run's. */
  secondsPerRun: number;
  timeShare: number;
  /** Runs finished out of those asked for. */
  finished: number;
  asked: number;
  /**
   * Against the suite's headline method (the default), at this method's N: the headline's first N runs scored
   * against the same retrained runs, and this method minus the headline in F and in the final score, each with
   * its paired bootstrap interval over the forget examples. Absent for the headline itself, the ideal, and where
   * the headline has fewer runs.
   */
  vsHeadline?: { method: string; forget: Versus; final: Versus };
}

/** One score of a method against the headline's: the headline's value, the difference and its paired interval. */
export interface Versus {
  headline: number;
  delta: number;
  low: number;
  high: number;
  verdict: PairedDifference["verdict"];
}

export interface BenchmarkResults {
  suite: string;
  N: number;
  S: number;
  retrained: {
    finished: number;
    asked: number;
    RA: number;
    TA: number;
    FA: number;
    mia: number;
    secondsPerRun: number;
  };
  original: { RA: number; TA: number; FA: number; mia: number; secondsPerRun: number } | null;
  ideal: MethodResult | null;
  methods: MethodResult[];
  environment: ReturnType<typeof runEnvironment>;
  date: string;
}

interface Evaluated {
  dir: string;
  manifest: RunManifest;
  record: EvalRecord;
}

export async function scoreBenchmark(o: BenchmarkOptions & { methods: string[] }): Promise<BenchmarkResults> {
  const { suite } = o;
  const dirs = suiteFolders(o.root, suite);
  const dataset = await openSource(suite.data, suite.sourceOptions);
  const forget = selectForget(dataset, parseForgetSpec(suite.forget), { seed: suite.forgetSeed });
  // what is scored: the first `limit` finished runs of each folder
  const retrainedRuns: Scored = { folder: dirs.retrained, limit: 2 * o.runs };
  const originalRun: Scored = { folder: dirs.original, limit: 1 };
  const methodRuns = (name: string): Scored => ({ folder: dirs.method(name), limit: runsOf(suite.methods[name]!, o) });
  const evalRuns = async (at: Scored): Promise<Evaluated[]> => {
    const out: Evaluated[] = [];
    for (const { dir, manifest } of finishedRuns(at))
      out.push({ dir, manifest, record: await evaluate(dir, dataset, forget, o) });
    return out;
  };
  // A shard evaluates its own share first (runs i-1, i-1+n, ... of each folder), so n shards scoring side by side
  // split the evaluations instead of each making all of them; the rest come from the caches the others write
  // (or are evaluated here when they have not been).
  const shard = o.shard ?? ALL_RUNS;
  if (shard.count > 1)
    for (const at of [retrainedRuns, originalRun, ...o.methods.map(methodRuns)])
      for (const { dir, manifest } of finishedRuns(at))
        if (manifest.run.index % shard.count === shard.index) await evaluate(dir, dataset, forget, o);
  const retrained = await evalRuns(retrainedRuns);
  const original = (await evalRuns(originalRun))[0];
  // score against the first N retrained runs; the ideal needs N more (runs N..2N-1)
  const half = Math.min(o.runs, retrained.length);
  const reference = retrained.slice(0, half);
  const retrainSeconds = mean(reference.map((r) => r.manifest.seconds.total ?? NaN));
  const results: MethodResult[] = [];
  const perMethod: Record<string, Evaluated[]> = {};
  const epsilons: Record<string, number[]> = {};
  // the headline's runs, for every method's comparison with it (and its own row when it is asked for)
  const headlineRuns = await evalRuns(methodRuns(suite.headline));
  const headlineScores = new Map<number, ChallengeScore>();
  for (const name of o.methods) {
    const m = suite.methods[name]!;
    const at = methodRuns(name);
    const asked = at.limit;
    const runs = name === suite.headline ? headlineRuns : await evalRuns(at);
    perMethod[name] = runs;
    const scored = scoreAgainst(name, m.label, m.group, runs, reference, retrainSeconds, asked);
    if (scored) {
      if (name !== suite.headline) {
        const vs = versusHeadline(scored.score, suite.headline, headlineRuns, reference, headlineScores);
        if (vs) scored.result.vsHeadline = vs;
      }
      results.push(scored.result);
      epsilons[name] = scored.epsilons;
    }
    o.log?.(`${name}: ${runs.length}/${asked} runs${scored ? `, F ${scored.result.F.toFixed(4)}` : ""}`);
  }
  const idealRuns = retrained.slice(half, 2 * half);
  const ideal =
    idealRuns.length === half
      ? (scoreAgainst("ideal", "retrained vs retrained (ideal)", "ideal", idealRuns, reference, retrainSeconds, o.runs)
          ?.result ?? null)
      : null;
  const summary = (rs: Evaluated[]) => ({
    RA: mean(rs.map((r) => pct(r.record, "retain"))),
    TA: mean(rs.map((r) => pct(r.record, "test"))),
    FA: mean(rs.map((r) => pct(r.record, "forget"))),
    mia: mean(rs.map((r) => r.record.evaluation.mia?.accuracy ?? NaN)),
    secondsPerRun: mean(rs.map((r) => r.manifest.seconds.total ?? NaN)),
  });
  const results_: BenchmarkResults = {
    suite: suite.name,
    N: half,
    S: forget.ids.length,
    retrained: { finished: retrained.length, asked: 2 * o.runs, ...summary(reference) },
    original: original ? summary([original]) : null,
    ideal,
    methods: results,
    environment: runEnvironment(),
    date: new Date().toISOString(),
  };
  writeFileAtomic(join(dirs.base, "results.json"), new TextEncoder().encode(JSON.stringify(results_, null, 2) + "\n"));
  writeFileAtomic(join(dirs.base, "results.md"), new TextEncoder().encode(resultsMarkdown(results_)));
  const report = reportInput(results_, { original, reference, methods: perMethod, epsilons }, suite.headline);
  await writeReport(await renderReport(report), { out: join(dirs.base, "report.html") });
  return results_;
}

/** A folder of runs and how many of its finished runs are scored. */
interface Scored {
  folder: string;
  limit: number;
}

/** The first `limit` finished runs of a folder, in run order (none when the folder does not exist). */
function finishedRuns({ folder, limit }: Scored): { dir: string; manifest: RunManifest }[] {
  if (!existsSync(folder)) return [];
  const out: { dir: string; manifest: RunManifest }[] = [];
  for (const dir of listRuns(folder)) {
    if (out.length >= limit) break;
    const manifest = readManifest(dir);
    if (manifest) out.push({ dir, manifest });
  }
  return out;
}

function evalSettings(o: BenchmarkOptions) {
  return {
    normalisation: o.suite.normalise,
    dataOptions: o.suite.sourceOptions as Record<string, unknown>,
    seed: 0,
    executionProvider: o.executionProvider,
    intraOpThreads: o.intraOpThreads,
    memoryBudget: o.memoryBudget,
  };
}

async function evaluate(dir: string, dataset: Dataset, forget: ForgetSet, o: BenchmarkOptions): Promise<EvalRecord> {
  const { record, cached } = await evaluateTarget({ target: dir, dataset, forget, ...evalSettings(o) });
  if (!cached) o.log?.(`evaluated ${dir}`);
  return record;
}

function scoreAgainst(
  method: string,
  label: string,
  group: string,
  runs: Evaluated[],
  reference: Evaluated[],
  retrainSeconds: number,
  asked: number,
): { result: MethodResult; epsilons: number[]; score: ChallengeScore } | null {
  const n = Math.min(runs.length, reference.length);
  if (n < 2) return null;
  const u = runs.slice(0, n);
  const r = reference.slice(0, n);
  const s = scoreConfs(confsInputOf(u, r));
  const secondsPerRun = mean(u.map((x) => x.manifest.seconds.total ?? NaN));
  const result: MethodResult = {
    method,
    label,
    group,
    runs: n,
    S: s.forget.S,
    F: s.forget.F,
    F_low: s.forget.interval.low,
    F_high: s.forget.interval.high,
    final: s.finalScore,
    RA: s.accuracy.unlearnedRetain,
    TA: s.accuracy.unlearnedTest,
    FA: mean(u.map((x) => pct(x.record, "forget"))),
    mia: mean(u.map((x) => x.record.evaluation.mia?.accuracy ?? NaN)),
    secondsPerRun,
    timeShare: secondsPerRun / retrainSeconds,
    finished: runs.length,
    asked,
  };
  return { result, epsilons: Array.from(s.forget.epsilons), score: s };
}

/**
 * MethodResult.vsHeadline: the headline's first N runs against the same N retrained runs (kept in `scores` by N),
 * paired with `score`.
 */
function versusHeadline(
  score: ChallengeScore,
  headline: string,
  headlineRuns: Evaluated[],
  reference: Evaluated[],
  scores: Map<number, ChallengeScore>,
): MethodResult["vsHeadline"] | undefined {
  const n = score.forget.N;
  if (headlineRuns.length < n) return undefined;
  // one score of the headline per N (most methods share it)
  const base = scores.get(n) ?? scoreConfs(confsInputOf(headlineRuns.slice(0, n), reference.slice(0, n)));
  scores.set(n, base);
  const versus = (value: number, d: PairedDifference): Versus => ({
    headline: value,
    delta: d.delta,
    low: d.interval.low,
    high: d.interval.high,
    verdict: d.verdict,
  });
  return {
    method: headline,
    forget: versus(base.forget.F, pairedDifference(score.forget, base.forget)),
    final: versus(base.finalScore, pairedFinalDifference(score, base)),
  };
}

const pct = (r: EvalRecord, split: "retain" | "test" | "forget") => 100 * (r.evaluation.splits[split]?.accuracy ?? NaN);
const mean = (a: number[]) => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : NaN);

/** The report: the paper's figure for original, fine-tune, the headline method and retrained; the headline's score. */
function reportInput(
  res: BenchmarkResults,
  runs: {
    original?: Evaluated;
    reference: Evaluated[];
    methods: Record<string, Evaluated[]>;
    epsilons: Record<string, number[]>;
  },
  headline: string,
): ReportInput {
  const models: ReportModel[] = [];
  if (runs.original && res.original) {
    models.push({
      name: "original",
      role: "original",
      runs: 1,
      logits: trueClassLogits([runs.original.record]),
      accuracy: { retain: res.original.RA, forget: res.original.FA, test: res.original.TA },
      mia: res.original.mia,
      secondsPerRun: res.original.secondsPerRun,
    });
  }
  for (const m of res.methods.filter((x) => x.method === "finetune" || x.method === headline)) {
    models.push({
      name: m.method === headline ? `ours (${m.method})` : m.method,
      role: m.method === headline ? "unlearned" : "baseline",
      runs: m.runs,
      logits: trueClassLogits((runs.methods[m.method] ?? []).slice(0, 2).map((r) => r.record)),
      accuracy: { retain: m.RA, forget: m.FA, test: m.TA },
      mia: m.mia,
      secondsPerRun: m.secondsPerRun,
    });
  }
  models.push({
    name: "retrained",
    role: "retrained",
    runs: runs.reference.length,
    logits: trueClassLogits(runs.reference.slice(0, 2).map((r) => r.record)),
    accuracy: { retain: res.retrained.RA, forget: res.retrained.FA, test: res.retrained.TA },
    mia: res.retrained.mia,
    secondsPerRun: res.retrained.secondsPerRun,
  });
  const head = res.methods.find((m) => m.method === headline);
  return {
    title: `Benchmark ${res.suite}: N = ${res.N}, S = ${res.S}`,
    score: head && {
      model: `ours (${headline})`,
      forgetScore: head.F,
      forgetScoreLow: head.F_low,
      forgetScoreHigh: head.F_high,
      finalScore: head.final,
      n: head.runs,
      s: head.S,
      epsilons: runs.epsilons[headline] ?? [],
    },
    logitsLabel: "logit of the true class",
    models,
    facts: {
      dataSource: res.suite,
      commit: res.environment.commit,
      host: hostLabel(res.environment.host),
      date: res.date,
    },
  };
}
