/**
 * Paired A/B of the train step's kernel time between two checkouts, node by node: `profile:step --tree` for
 * the base checkout and for this one, alternated (base first in odd rounds, this one first in even rounds),
 * each in a fresh process, and per tree and thread count the median and range over the rounds of all nodes'
 * kernel time and of the nodes whose name matches --match. On this noisy machine the whole step moves by more
 * than most changes do (docs/PERFORMANCE.md); the matched nodes' kernel times are steadier. Every other option
 * goes to profile:step as it is (its defaults apply).
 *   git worktree add --detach /tmp/base <commit> && ln -s "$PWD/node_modules" /tmp/base/node_modules
 *   npx tsx scripts/perf/profile-ab.ts /tmp/base [--rounds 2] [--match <regex>] [profile:step options: --model
 *     resnet18 --batch 64 --threads 1,2 --steps 8 --k 8 ...]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Command } from "commander";
import { medianRange } from "../median.js";
import { optionError } from "../option-error.js";

const cmd = new Command("profile-ab")
  .argument("<base>", "the base checkout (a git worktree with node_modules linked)")
  .argument("[profile-step-options...]", "passed to profile:step")
  .option("--rounds <n>", "profiles per tree", "2")
  .option("--match <regex>", "also sum the nodes whose '<op> <name>' matches (e.g. 'layer2.0/conv1/Conv/grad/')")
  .allowUnknownOption()
  .parse(
    process.argv.slice(2).filter((a) => a !== "--"),
    { from: "user" },
  );
const o = cmd.opts();
const fail = optionError("profile-ab");
const [baseArg, ...forwarded] = cmd.args;
const base = resolve(baseArg!);
const rounds = Number(o.rounds);
if (!Number.isInteger(rounds) || rounds < 1) fail(`--rounds expects a positive integer, got '${o.rounds}'`);
let match: RegExp | undefined;
try {
  match = o.match ? new RegExp(o.match) : undefined;
} catch {
  fail(`--match: not a regular expression: '${o.match}'`);
}

interface Row {
  op: string;
  ms: Record<string, number>;
}
/** What profile:step --json writes (the fields used here). */
interface Profile {
  model: string;
  batch: number;
  steps: number;
  k: number;
  threads: number[];
  nodeSum: Record<string, number>;
  nodes: Row[];
}
const here = resolve(import.meta.dirname, "../..");
const trees = { base, new: here };
const dir = mkdtempSync(join(tmpdir(), "profile-ab-"));
const samples: Record<string, Record<number, { all: number[]; matched: number[] }>> = { base: {}, new: {} };
const load0 = loadavg()[0]!;
let last: Profile | undefined;
try {
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? (["base", "new"] as const) : (["new", "base"] as const);
    for (const name of order) {
      const json = join(dir, `${name}-${r}.json`);
      const args = ["tsx", join(here, "scripts/profile-step.ts"), ...forwarded, "--tree", trees[name], "--json", json];
      try {
        execFileSync("npx", args, { cwd: here, stdio: ["ignore", "ignore", "inherit"] });
      } catch (e) {
        process.exit((e as { status?: number }).status ?? 1); // profile:step said why on stderr
      }
      const p = (last = JSON.parse(readFileSync(json, "utf8")) as Profile);
      for (const t of p.threads) {
        const s = (samples[name]![t] ??= { all: [], matched: [] });
        s.all.push(p.nodeSum[t]!);
        s.matched.push(p.nodes.filter((n) => match?.test(n.op)).reduce((a, n) => a + (n.ms[t] ?? 0), 0));
      }
      console.log(
        `round ${r + 1} ${name}: ${p.threads.map((t) => `${t} thread(s) all ${p.nodeSum[t]!.toFixed(1)}${match ? ` matched ${samples[name]![t]!.matched.at(-1)!.toFixed(2)}` : ""} ms`).join(", ")}; load ${loadavg()[0]!.toFixed(2)}`,
      );
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const { model, batch, steps, k, threads } = last!;
console.log(
  [
    "",
    `${new Date().toISOString()} ${model}, batch ${batch}, ${steps} steps per profile (${k} per run), ${rounds} round(s); base ${base}; load average ${load0.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)}`,
    "",
    `| tree | ${threads.map((t) => `all nodes at ${t}`).join(" | ")}${match ? ` | ${threads.map((t) => `matched at ${t}`).join(" | ")}` : ""} |`,
    `|---|${threads.map(() => "---|").join("")}${match ? threads.map(() => "---|").join("") : ""}`,
    ...(["base", "new"] as const).map(
      (name) =>
        `| ${name} | ${threads.map((t) => medianRange(samples[name]![t]!.all, 1)).join(" | ")}${match ? ` | ${threads.map((t) => medianRange(samples[name]![t]!.matched, 2)).join(" | ")}` : ""} |`,
    ),
    "",
    `ms of kernel time per step, median (range) over the rounds${match ? `; matched: ${match.source}` : ""}`,
  ].join("\n"),
);
