/**
 * The challenge score from run folders: `onnx-unlearn score --unlearned <dir> --retrained <dir>`. The runs'
 * manifests must agree (one original, one data set, one forget set; retrained runs trained on the retain set),
 * every run is evaluated through its cache, and the forget-set confidences and accuracies become the same input
 * `score --confs` takes (scoreConfs).
 */
import { basename } from "node:path";
import { UserError } from "../errors.js";
import { shortJson } from "../short-json.js";
import { scoreConfs, type ChallengeScore, type ConfsInput } from "./challenge-score/index.js";
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
}

/** Reads, checks, evaluates and scores the runs (see the module comment). Every refusal is one UserError line. */
export async function scoreRuns(o: ScoreRunsOptions): Promise<RunScores> {
  const u = readRunGroup(o.unlearned);
  const r = readRunGroup(o.retrained);
  checkScorePair(u, r);
  const { n, notes } = equalN(u.length, r.length, o.unlearned, o.retrained);
  const data = await openRunsData([...u, ...r], o);
  const unlearned = await evaluateRuns(u.slice(0, n), data, o);
  const retrained = await evaluateRuns(r.slice(0, n), data, o);
  return {
    score: scoreEvaluated(unlearned, retrained, o),
    unlearned,
    retrained,
    notes,
    forget: unlearned[0]!.record.forget,
    data: data.identity.spec,
  };
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

/** N: both sides need two runs or more; with unequal counts the first min of each are scored, and a note says so. */
function equalN(nu: number, nr: number, uPath: string, rPath: string): { n: number; notes: string[] } {
  for (const [count, path] of [
    [nu, uPath],
    [nr, rPath],
  ] as const)
    if (count < 2) throw new UserError(`holds ${count} run; the score needs N >= 2 runs on each side (--runs N)`, path);
  const n = Math.min(nu, nr);
  const notes: string[] = [];
  if (nu !== nr) {
    const [more, path] = nu > nr ? [nu, uPath] : [nr, rPath];
    notes.push(
      `${nu} unlearned and ${nr} retrained runs: scoring the first ${n} of each (run-000 to ` +
        `run-${String(n - 1).padStart(3, "0")}); the other ${more - n} of ${basename(path)} are left out`,
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
  const { resamples, level, seed, singleThresholdGrid } = o as ForgetScoreOptions;
  const options = Object.fromEntries(
    Object.entries({ resamples, level, seed, singleThresholdGrid }).filter(([, v]) => v !== undefined),
  );
  return scoreConfs(confsInputOf(unlearned, retrained), options);
}

const short = (hash: unknown) => (typeof hash === "string" ? `${hash.slice(0, 12)}...` : String(hash));
