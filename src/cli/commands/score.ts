import type { Command } from "commander";
import { scoreConfsFile, type ChallengeScore, type PairedDifference } from "../../evaluation/challenge-score/index.js";
import { scoreRuns, type RunScores } from "../../evaluation/run-scores.js";
import { UserError } from "../../errors.js";
import { addRunEvalOptions, parseRunEvalOptions, type RunEvalCliOptions } from "../run-eval-options.js";

interface ScoreCliOptions extends RunEvalCliOptions {
  confs?: string;
  unlearned?: string;
  retrained?: string;
  baseline?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command("score")
    .description(
      "the NeurIPS 2023 Machine Unlearning Challenge score: from run folders (--unlearned, --retrained) or from " +
        "per-model forget-set confidences (--confs)",
    )
    .option(
      "--confs <file.json>",
      "unlearned_confs, retrained_confs ([N][S] logit-scaled confidences) and unlearned_retain_acc, " +
        "unlearned_test_acc, retrained_retain_acc, retrained_test_acc ([N], percent)",
    )
    .option("--unlearned <dir>", "the unlearned runs: the folder 'unlearn --runs N' wrote (run-000, ...)")
    .option("--retrained <dir>", "the retrained runs: the folder 'train --runs N --exclude-forget <spec>' wrote")
    .option(
      "--baseline <dir>",
      "other unlearned runs of the same original (another method or setting): scored against the same retrained " +
        "runs, then unlearned minus baseline in F and in the final score, with paired bootstrap intervals: does the score separate them?",
    )
    .option(
      "--json",
      "print forget_score, final_score, N, S, F_low, F_high and epsilons as JSON (with --baseline also baseline and difference)",
    );
  addRunEvalOptions(
    cmd,
    "run folders: the forget set, when the recorded one cannot be reopened (checked by hash)",
  ).action(async (o: ScoreCliOptions) => {
    const fromRuns = o.unlearned !== undefined || o.retrained !== undefined;
    if (o.confs !== undefined && fromRuns)
      throw new UserError("give either --confs or --unlearned and --retrained, not both");
    if (o.baseline !== undefined && !fromRuns)
      throw new UserError("--baseline compares run folders: give it with --unlearned <dir> and --retrained <dir>");
    if (o.confs !== undefined) {
      const result = scoreConfsFile(o.confs);
      process.stdout.write(o.json ? `${JSON.stringify(toJson(result))}\n` : formatText(`${o.confs}:`, result));
      return;
    }
    if (o.unlearned === undefined || o.retrained === undefined)
      throw new UserError(
        fromRuns
          ? `--${o.unlearned === undefined ? "unlearned" : "retrained"} is missing: the score compares both groups of runs`
          : "give --unlearned <dir> and --retrained <dir> (run folders), or --confs <file.json>",
      );
    const runs = await scoreRuns({
      unlearned: o.unlearned,
      retrained: o.retrained,
      ...(o.baseline === undefined ? {} : { baseline: o.baseline }),
      ...parseRunEvalOptions(o),
      onRun: (r) => {
        if (!o.json) process.stderr.write(`${r.dir}: ${r.cached ? "evaluation from its cache" : "evaluated"}\n`);
      },
    });
    process.stdout.write(
      o.json
        ? `${JSON.stringify(runsJson(runs))}\n`
        : runsText(o.unlearned, o.retrained, runs) + baselineText(o.baseline, runs),
    );
  });
}

export function toJson(r: ChallengeScore) {
  const f = r.forget;
  return {
    forget_score: f.F,
    final_score: r.finalScore,
    N: f.N,
    S: f.S,
    F_low: f.interval.low,
    F_high: f.interval.high,
    // NaN (no threshold survived) becomes null.
    epsilons: Array.from(f.epsilons),
  };
}

/** --json from run folders: toJson's keys, then the runs scored, the forget set and the notes. */
function runsJson(r: RunScores) {
  return {
    ...toJson(r.score),
    unlearned_runs: r.unlearned.map((x) => x.dir),
    retrained_runs: r.retrained.map((x) => x.dir),
    forget: r.forget,
    data: r.data,
    notes: r.notes,
    ...(r.baseline && {
      baseline: {
        runs: r.baseline.runs.map((x) => x.dir),
        forget_score: r.baseline.score.forget.F,
        final_score: r.baseline.score.finalScore,
        F_low: r.baseline.score.forget.interval.low,
        F_high: r.baseline.score.forget.interval.high,
      },
      difference: {
        forget_score: differenceJson(r.baseline.difference.forget),
        final_score: differenceJson(r.baseline.difference.final),
        level: r.baseline.difference.forget.interval.level,
      },
    }),
  };
}

const differenceJson = (d: PairedDifference) => ({
  delta: d.delta,
  low: d.interval.low,
  high: d.interval.high,
  verdict: d.verdict,
});

const VERDICT = {
  above: "the unlearned runs score above the baseline",
  below: "the baseline scores above the unlearned runs",
  "not separated": "0 is inside the interval, not separated at this N",
};

/** With --baseline: the baseline's F and final score, and the paired differences. */
function baselineText(baseline: string | undefined, r: RunScores): string {
  if (baseline === undefined || !r.baseline) return "";
  const b = r.baseline;
  const f = b.score.forget;
  const signed = (x: number) => (x >= 0 ? "+" : "") + fmt(x);
  const line = (what: string, d: PairedDifference) =>
    `${what} = ${signed(d.delta)}  [${signed(d.interval.low)}, ${signed(d.interval.high)}]: ${VERDICT[d.verdict]}`;
  return [
    `baseline ${baseline} (same retrained runs, N = ${f.N}):`,
    `forget_score  ${fmt(f.F)}  (${Math.round(f.interval.level * 100)}% bootstrap interval ${fmt(f.interval.low)} to ` +
      `${fmt(f.interval.high)})`,
    `final_score   ${fmt(b.score.finalScore)}`,
    `unlearned - baseline, ${Math.round(f.interval.level * 100)}% paired bootstrap interval over forget examples:`,
    line("  forget_score", b.difference.forget),
    line("  final_score ", b.difference.final),
    "",
  ].join("\n");
}

function runsText(unlearned: string, retrained: string, r: RunScores): string {
  const about = [
    `data ${r.data}; forget set ${r.forget.spec}, ${r.forget.count} examples, sha256 ${r.forget.idsSha256.slice(0, 12)}...`,
    ...r.notes.map((n) => `note: ${n}`),
  ];
  return formatText(`${unlearned} vs ${retrained}:`, r.score, about);
}

const row = (range: string, points: string, count: number) => `  ${range.padEnd(12)} ${points.padEnd(12)} ${count}`;
const fmt = (x: number, d = 4) => (Number.isFinite(x) ? x.toFixed(d) : String(x));

function formatText(label: string, r: ChallengeScore, about: string[] = []): string {
  const f = r.forget;
  const a = r.accuracy;
  const sorted = Float64Array.from(f.epsilons.filter((e) => !Number.isNaN(e))).sort();
  const q = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : NaN);
  const capped = f.epsilons.filter((e) => e === 50).length;
  const undefinedCount = f.epsilons.length - sorted.length;
  const lines = [
    `${label} N = ${f.N} models per side, S = ${f.S} forget examples`,
    ...about,
    `forget_score  ${fmt(f.F)}  (${Math.round(f.interval.level * 100)}% bootstrap interval over forget examples ` +
      `${fmt(f.interval.low)} to ${fmt(f.interval.high)}, ${f.interval.resamples} resamples)`,
    `final_score   ${fmt(r.finalScore)}  (= F x retain ${fmt(a.unlearnedRetain, 2)}/${fmt(a.retrainedRetain, 2)} ` +
      `x test ${fmt(a.unlearnedTest, 2)}/${fmt(a.retrainedTest, 2)})`,
    `epsilons      min ${fmt(sorted[0] ?? NaN, 3)}, median ${fmt(q(0.5), 3)}, max ${fmt(sorted.at(-1) ?? NaN, 3)}; ` +
      `${capped} at the cap 50 (peaky spread or perfect separation)` +
      (undefinedCount ? `; ${undefinedCount} undefined (every threshold discarded; 0 points)` : ""),
    `points by epsilon bucket (none from ${f.maxEps} = ceil(ln(N-1)) on):`,
    `  ${"epsilon".padEnd(12)} ${"points".padEnd(12)} examples`,
    ...f.buckets.map((b) => row(`[${b.low.toFixed(1)}, ${b.high.toFixed(1)})`, String(b.points), b.count)),
    row(`>= ${f.maxEps}`, "0", f.S - f.buckets.reduce((s, b) => s + b.count, 0)),
    "",
  ];
  return lines.join("\n");
}
