/** The benchmark's results as a markdown table (docs/RESULTS.md takes it as it is). */
import type { BenchmarkResults, MethodResult, Versus } from "./score.js";

const f4 = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : "-");
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "-");
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "-");
const signed = (x: number) => (x >= 0 ? "+" : "") + f4(x);

/** A score minus the headline's at the method's N with its paired interval; bold where the interval excludes 0. */
function versus(v: Versus | undefined): string {
  if (!v) return "-";
  const cell = `${signed(v.delta)} [${signed(v.low)}, ${signed(v.high)}]`;
  return v.verdict === "not separated" ? cell : `**${cell}**`;
}

function row(m: MethodResult): string {
  const runs = m.finished < m.asked ? `${m.runs} (${m.finished}/${m.asked} done)` : String(m.runs);
  const vs = m.vsHeadline;
  return `| ${m.label} | ${runs} | ${f4(m.F)} [${f4(m.F_low)}, ${f4(m.F_high)}] | ${versus(vs?.forget)} | ${f4(m.final)} | ${versus(vs?.final)} | ${f2(m.RA)} | ${f2(m.TA)} | ${f2(m.FA)} | ${f4(m.mia)} | ${f1(m.secondsPerRun)} | ${f2(100 * m.timeShare)}% |`;
}

/** The tables after the main one, each with its heading. */
const GROUP_TITLES: [string, string][] = [
  ["ablation", "Ablation chain (each step adds one idea; the last step is algo1):"],
  ["sweep", "Sweep (one cycle, MSE, noise 0.01, classifier/shortcut exclusion; k re-initialised layers x peak rate):"],
];

export function resultsMarkdown(r: BenchmarkResults): string {
  const headline = r.methods.find((m) => m.vsHeadline)?.vsHeadline?.method ?? "headline";
  const head =
    `| method | N | F [95% bootstrap] | F - ${headline}'s [95% paired] | final score | final - ${headline}'s [95% paired] | RA % | TA % | forget acc % | MIA | s/run | time vs retrain |\n` +
    "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  const lines = [`Suite ${r.suite}: N = ${r.N} runs per side, S = ${r.S} forget examples (${r.date}).`, ""];
  const main = r.methods.filter((m) => m.group === "main");
  lines.push(head + [...(r.ideal ? [row(r.ideal)] : []), ...main.map(row)].join("\n"));
  for (const [group, title] of GROUP_TITLES) {
    const rows = r.methods.filter((m) => m.group === group);
    if (rows.length) lines.push("", title, "", head + rows.map(row).join("\n"));
  }
  const rt = r.retrained;
  lines.push(
    "",
    `Retrained reference: ${rt.finished}/${rt.asked} runs finished; RA ${f2(rt.RA)}%, TA ${f2(rt.TA)}%, forget ${f2(rt.FA)}%, MIA ${f4(rt.mia)}, ${f1(rt.secondsPerRun)} s per run.`,
  );
  if (r.original) {
    lines.push(
      `Original: RA ${f2(r.original.RA)}%, TA ${f2(r.original.TA)}%, forget ${f2(r.original.FA)}%, MIA ${f4(r.original.mia)}.`,
    );
  }
  return lines.join("\n") + "\n";
}
