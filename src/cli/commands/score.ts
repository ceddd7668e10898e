import type { Command } from "commander";
import { scoreConfsFile, type ChallengeScore } from "../../evaluation/challenge-score/index.js";

export function register(program: Command): void {
  program
    .command("score")
    .description("the NeurIPS 2023 Machine Unlearning Challenge score from per-model forget-set confidences")
    .requiredOption(
      "--confs <file.json>",
      "unlearned_confs, retrained_confs ([N][S] logit-scaled confidences) and unlearned_retain_acc, " +
        "unlearned_test_acc, retrained_retain_acc, retrained_test_acc ([N], percent)",
    )
    .option("--json", "print forget_score, final_score, N, S, F_low, F_high and epsilons as JSON")
    .action((o: { confs: string; json?: boolean }) => {
      const result = scoreConfsFile(o.confs);
      process.stdout.write(o.json ? `${JSON.stringify(toJson(result))}\n` : formatText(o.confs, result));
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

const row = (range: string, points: string, count: number) => `  ${range.padEnd(12)} ${points.padEnd(12)} ${count}`;
const fmt = (x: number, d = 4) => (Number.isFinite(x) ? x.toFixed(d) : String(x));

function formatText(path: string, r: ChallengeScore): string {
  const f = r.forget;
  const a = r.accuracy;
  const sorted = Float64Array.from(f.epsilons.filter((e) => !Number.isNaN(e))).sort();
  const q = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : NaN);
  const capped = f.epsilons.filter((e) => e === 50).length;
  const undefinedCount = f.epsilons.length - sorted.length;
  const lines = [
    `${path}: N = ${f.N} models per side, S = ${f.S} forget examples`,
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
