/**
 * `npm run readme-numbers [-- --quickstart <out dir>] [-- --check]`: the README's measured numbers, regenerated
 * from the committed results so that they cannot drift from them:
 *
 *   - the `npm start` sentence from docs/results/quickstart.json (`--quickstart out` first copies the
 *     quickstart.json a fresh `npm start` wrote there);
 *   - the results table from docs/results/fmnist-5k.json (what `npm run benchmark -- --stages score` wrote).
 *
 * Each lives in the README between `<!-- numbers:NAME -->` and `<!-- /numbers:NAME -->`; everything else is left
 * alone. `--check` changes nothing and exits 1 when the README differs from what the results give (a test runs
 * it: test/readme-numbers.test.ts).
 */
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchmarkResults as Scored, MethodResult } from "../src/jobs/benchmark/score.js";
import { SUITES } from "../src/jobs/benchmark/suites.js";
import type { QuickstartRecord } from "../src/jobs/quickstart.js";

const ROOT = join(fileURLToPath(import.meta.url), "..", "..");
export const README = join(ROOT, "README.md");
export const RESULTS = join(ROOT, "docs", "results", "fmnist-5k.json");
export const QUICKSTART = join(ROOT, "docs", "results", "quickstart.json");

/** What the README reads of the benchmark's results.json (written by src/jobs/benchmark/score.ts). */
type MethodRow = Pick<MethodResult, "method" | "label" | "group" | "F" | "F_low" | "F_high" | "final" | "RA" | "TA">;
export type BenchmarkResults = Pick<Scored, "suite" | "N" | "S" | "date"> & {
  /** Where it was scored. */
  environment?: { host: { cpus: number } };
  ideal: MethodRow;
  methods: MethodRow[];
};

/** What the README reads of quickstart.json (written by src/jobs/quickstart.ts). */
export type QuickstartNumbers = Pick<QuickstartRecord, "seconds" | "finished"> & {
  rows: Omit<QuickstartRecord["rows"][number], "seconds">[];
  load?: number;
  environment: { host: { cpus: number } };
};

const f3 = (x: number) => x.toFixed(3);
const f1 = (x: number) => x.toFixed(1);

/**
 * The ideal and the suite's main methods (the ablation and the sweep stay in docs/RESULTS.md), in the results' order,
 * with their labels; the suite's headline method in bold.
 */
export function resultsSection(r: BenchmarkResults): string {
  const headline = SUITES[r.suite]?.headline;
  const rows = [r.ideal, ...r.methods.filter((m) => m.group === "main")].map((m) => {
    const b = (s: string) => (m.method === headline ? `**${s}**` : s);
    const F = `${f3(m.F)} [${f3(m.F_low)}, ${f3(m.F_high)}]`;
    return `| ${b(m.label)} | ${b(F)} | ${f3(m.final)} | ${f1(m.RA)} | ${f1(m.TA)} |`;
  });
  const head = r.methods.find((m) => m.method === headline);
  const budget = r.methods.find((m) => m.method === "finetune-5ep");
  const cpus = r.environment?.host.cpus;
  const sentence =
    head && budget
      ? `As on the challenge (0.094 vs 0.046), the method scores well above fine-tuning at the same budget ` +
        `(here ${(head.F / budget.F).toFixed(1)}x); it keeps ${head.RA < r.ideal.RA ? "less" : "as much"} of the ` +
        `retain set ${head.RA < r.ideal.RA ? "than" : "as"} the retrained models (${head.RA.toFixed(0)}% vs ` +
        `${r.ideal.RA.toFixed(0)}%).`
      : "";
  return [
    wrap(
      `${r.date.slice(0, 10)}, ${cpus === undefined ? "" : `this ${cpus}-core machine, `}N = ${r.N} runs per side, ` +
        `S = ${r.S} forget examples (F with its 95% bootstrap interval; RA/TA = retain/test accuracy):`,
    ),
    "",
    "| method | F | final score | RA % | TA % |",
    "|---|---|---|---|---|",
    ...rows,
    ...(sentence ? ["", wrap(sentence)] : []),
  ].join("\n");
}

export function quickstartSection(q: QuickstartNumbers): string {
  const row = (name: string) => {
    const r = q.rows.find((x) => x.name === name);
    if (!r) throw new Error(`${QUICKSTART} has no row '${name}'`);
    return r;
  };
  const [o, u] = [row("original"), row("unlearned")];
  const pct = (a: number, b: number) => `${(100 * a).toFixed(2)} / ${(100 * b).toFixed(2)}%`;
  const mins = Math.floor(q.seconds / 60);
  const secs = Math.round(q.seconds - 60 * mins);
  const mia = (x: number | null) => (x === null ? "-" : x.toFixed(3));
  return wrap(
    `${mins ? `${mins} min ` : ""}${secs} s on the ${q.environment.host.cpus}-core development machine (${q.finished.slice(0, 10)}` +
      `${q.load === undefined ? "" : `, load average ${q.load.toFixed(0)}`}), with original / unlearned retain ${pct(o.retain, u.retain)}, ` +
      `forget ${pct(o.forget, u.forget)}, test ${pct(o.test, u.test)} and MIA ${mia(o.mia)} / ${mia(u.mia)}.`,
  );
}

/** Prose broken into lines of at most `width` characters, at spaces (the README's own line length). */
export function wrap(text: string, width = 116): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line].join("\n");
}

/** `readme` with each marked section replaced by its text. */
export function withSections(readme: string, sections: Record<string, string>): string {
  let out = readme;
  for (const [name, text] of Object.entries(sections)) {
    const begin = `<!-- numbers:${name} -->`;
    const end = `<!-- /numbers:${name} -->`;
    const i = out.indexOf(begin);
    const j = out.indexOf(end);
    if (i < 0 || j < i) throw new Error(`README.md has no ${begin} ... ${end} section`);
    out = `${out.slice(0, i + begin.length)}\n${text}\n${out.slice(j)}`;
  }
  return out;
}

export function regenerated(readme: string): string {
  return withSections(readme, {
    quickstart: quickstartSection(JSON.parse(readFileSync(QUICKSTART, "utf8")) as QuickstartNumbers),
    results: resultsSection(JSON.parse(readFileSync(RESULTS, "utf8")) as BenchmarkResults),
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf("--quickstart");
  if (at >= 0) copyFileSync(join(args[at + 1] ?? "out", "quickstart.json"), QUICKSTART);
  const readme = readFileSync(README, "utf8");
  const next = regenerated(readme);
  if (args.includes("--check")) {
    if (next !== readme) {
      process.stderr.write(
        "README.md's measured numbers differ from docs/results/*.json: run npm run readme-numbers\n",
      );
      process.exitCode = 1;
    }
  } else if (next !== readme) {
    writeFileSync(README, next);
    process.stderr.write("README.md: measured numbers regenerated\n");
  } else process.stderr.write("README.md: measured numbers already up to date\n");
}
