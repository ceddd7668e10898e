/**
 * The challenge score from run folders: `onnx-unlearn score --unlearned <dir> --retrained <dir> [--baseline <dir>]`.
 * The runs' manifests must agree (one original, one data set, one forget set; retrained runs trained on the retain
 * set), every run is evaluated through its cache, and the forget-set confidences and accuracies become the same
 * input `score --confs` takes (scoreConfs). With a baseline (another group of unlearned runs of the same original),
 * both groups are scored against the same retrained runs and compared: unlearned minus baseline in F and in the
 * final score, each with its paired bootstrap interval (pairedDifference, pairedFinalDifference).
 */
import { basename } from "node:path";
import { UserError } from "../errors.js";
import { shortJson } from "../short-json.js";
import {
  pairedDifference,
  pairedFinalDifference,
  scoreConfs,
  type ChallengeScore,
  type ConfsInput,
  type PairedDifference,
} from "./challenge-score/index.js";
import type { ForgetScoreOptions } from "./challenge-score/index.js";
import type { EvalRecord } from "./eval-cache.js";
import {
  checkSameData,
  evaluateRuns,
  openRunsData,
  readRunGroup,
  type EvaluatedRun,
  type Run,
  type RunDataOptions,
  type RunEvalOptions,
} from "./run-data.js";

export interface ScoreRunsOptions extends RunDataOptions, RunEvalOptions, Omit<ForgetScoreOptions, "names"> {
  /** A folder of unlearned runs (`unlearn --runs N`), or one run folder. */
  unlearned: string;
  /** A folder of retrained runs (`train --runs N --exclude-forget <spec>`), or one run folder. */
  retrained: string;
  /** Another folder of unlearned runs of the same original, scored against the same retrained runs and compared. */
  baseline?: string;
}

export interface RunScores {
  score: ChallengeScore;
  /** The runs scored: the first N of each side, by run index. */
  unlearned: EvaluatedRun[];
  retrained: EvaluatedRun[];
  /** Choices made on the way, for the user (e.g. unequal N: the first N of each side taken). */
  notes: string[];
  forget: EvalRecord["forget"];
  data: string;
  /** With `baseline`: its runs (the first N), its score, and unlearned minus baseline in F and in the final score. */
  baseline?: {
    runs: EvaluatedRun[];
    score: ChallengeScore;
    difference: { forget: PairedDifference; final: PairedDifference };
  };
}

/** Reads, checks, evaluates and scores the runs (see the module comment). Every refusal is one UserError line. */
export async function scoreRuns(o: ScoreRunsOptions): Promise<RunScores> {
  const u = readRunGroup(o.unlearned);
  const r = readRunGroup(o.retrained);
  const b = o.baseline === undefined ? [] : readRunGroup(o.baseline);
  checkScorePair([...u, ...b], r);
  const groups: Group[] = [
    { count: u.length, path: o.unlearned, side: "unlearned" },
    { count: r.length, path: o.retrained, side: "retrained" },
  ];
  if (o.baseline !== undefined) groups.push({ count: b.length, path: o.baseline, side: "baseline" });
  const { n, notes } = equalN(groups);
  const data = await openRunsData([...u, ...r, ...b], o);
  const unlearned = await evaluateRuns(u.slice(0, n), data, o);
  const retrained = await evaluateRuns(r.slice(0, n), data, o);
  const score = scoreEvaluated(unlearned, retrained, o);
  const out: RunScores = {
    score,
    unlearned,
    retrained,
    notes,
    forget: unlearned[0]!.record.forget,
    data: data.identity.spec,
  };
  if (o.baseline !== undefined) {
    const runs = await evaluateRuns(b.slice(0, n), data, o);
    const baseScore = scoreEvaluated(runs, retrained, o);
    const paired = { ...boot(o), names: ["unlearned", "baseline"] as [string, string] };
    const difference = {
      forget: pairedDifference(score.forget, baseScore.forget, paired),
      final: pairedFinalDifference(score, baseScore, paired),
    };
    out.baseline = { runs, score: baseScore, difference };
  }
  return out;
}

/**
 * Refuses a pair of run groups the score cannot compare, naming the run and the manifest field: unlearned runs
 * that are not `unlearn` runs, come from different originals or have no forget set; retrained runs that are not
 * `train` runs on the retain set; runs on other data or forget sets; one model in two runs.
 */
export function checkScorePair(unlearned: Run[], retrained: Run[]): void {
  const first = unlearned[0]!;
  for (const run of unlearned) {
    const m = run.manifest;
    if (m.kind !== "unlearn")
      throw new UserError(`kind is '${m.kind}', expected an unlearned run (from 'unlearn --runs N')`, run.dir);
    if (!m.forget)
      throw new UserError(
        "forget is absent from the manifest (a --retain-only run): the score needs the forget set",
        run.dir,
      );
    if (m.input.sha256 !== first.manifest.input.sha256)
      throw new UserError(
        `input.sha256 is ${short(m.input.sha256)}, ${first.dir} has ${short(first.manifest.input.sha256)}: ` +
          `unlearned from different original models`,
        run.dir,
      );
  }
  for (const run of retrained) {
    const m = run.manifest;
    const on = m.config.trainedOn;
    if (m.kind !== "train")
      throw new UserError(
        `kind is '${m.kind}', expected a retrained run (from 'train --runs N --exclude-forget <spec>')`,
        run.dir,
      );
    if (on !== "retain")
      throw new UserError(
        `config.trainedOn is ${shortJson(on)}, expected "retain": ${on === "train" ? "an original, trained on all of train, " : ""}` +
          `not a retrained reference (from 'train --exclude-forget <spec>')`,
        run.dir,
      );
  }
  checkSameData([...unlearned, ...retrained], first);
  const seen = new Map<string, string>();
  for (const run of [...unlearned, ...retrained]) {
    const earlier = seen.get(run.manifest.output.sha256);
    if (earlier)
      throw new UserError(
        `output.sha256 ${short(run.manifest.output.sha256)} is also ${earlier}'s: the same model twice, not independent runs`,
        run.dir,
      );
    seen.set(run.manifest.output.sha256, run.dir);
  }
}

interface Group {
  count: number;
  path: string;
  side: string;
}

/**
 * N: every group needs two runs or more; with unequal counts the first min of each are scored, and a note says
 * which runs of which folders are left out.
 */
function equalN(groups: Group[]): { n: number; notes: string[] } {
  for (const { count, path } of groups)
    if (count < 2) throw new UserError(`holds ${count} run; the score needs N >= 2 runs on each side (--runs N)`, path);
  const n = Math.min(...groups.map((g) => g.count));
  const notes: string[] = [];
  if (groups.some((g) => g.count !== n)) {
    const counts = groups.map((g) => `${g.count} ${g.side}`);
    const counted = `${counts.slice(0, -1).join(", ")} and ${counts.at(-1)} runs`;
    const left = groups.filter((g) => g.count > n).map((g) => `the other ${g.count - n} of ${basename(g.path)}`);
    notes.push(
      `${counted}: scoring the first ${n} of each (run-000 to run-${String(n - 1).padStart(3, "0")}); ` +
        `${left.join(" and ")} are left out`,
    );
  }
  return { n, notes };
}

const pct = (r: EvalRecord, split: "retain" | "test") => {
  const s = r.evaluation.splits[split];
  if (!s)
    throw new UserError(
      `its evaluation has no ${split} split: the final score needs retain and test accuracy`,
      r.model.file,
    );
  return 100 * s.accuracy;
};

/** The `--confs` input of evaluated runs: forget-set confidences [N][S] and retain/test accuracies in percent. */
export function confsInputOf(
  unlearned: Pick<EvaluatedRun, "record">[],
  retrained: Pick<EvaluatedRun, "record">[],
): ConfsInput {
  return {
    unlearned_confs: unlearned.map((x) => x.record.evaluation.forget.confidences),
    retrained_confs: retrained.map((x) => x.record.evaluation.forget.confidences),
    unlearned_retain_acc: unlearned.map((x) => pct(x.record, "retain")),
    unlearned_test_acc: unlearned.map((x) => pct(x.record, "test")),
    retrained_retain_acc: retrained.map((x) => pct(x.record, "retain")),
    retrained_test_acc: retrained.map((x) => pct(x.record, "test")),
  };
}

/** scoreConfs on evaluated runs (equal N, one forget set). */
export function scoreEvaluated(
  unlearned: EvaluatedRun[],
  retrained: EvaluatedRun[],
  o: Omit<ForgetScoreOptions, "names"> = {},
): ChallengeScore {
  const { singleThresholdGrid } = o as ForgetScoreOptions;
  const options = { ...boot(o), ...(singleThresholdGrid === undefined ? {} : { singleThresholdGrid }) };
  return scoreConfs(confsInputOf(unlearned, retrained), options);
}

/** The bootstrap's options given in `o` (resamples, level, seed), without the undefined ones. */
function boot(o: Omit<ForgetScoreOptions, "names">): Pick<ForgetScoreOptions, "resamples" | "level" | "seed"> {
  const { resamples, level, seed } = o;
  return Object.fromEntries(Object.entries({ resamples, level, seed }).filter(([, v]) => v !== undefined));
}

const short = (hash: unknown) => (typeof hash === "string" ? `${hash.slice(0, 12)}...` : String(hash));
