/**
 * Our train step against PyTorch eager doing the same step, on this machine's CPU, in one run: rounds of
 * `scripts/bench.ts` and `scripts/gpu/torch_step.py` as separate processes, the order alternated
 * (ours-torch, torch-ours, ...), equal threads, batch, model and step counts. Each side reports the median
 * ms/step of its repeats (warm-up excluded); the speedup of a round is torch ms / our ms, and the figure to
 * quote is the median over rounds. With several thread counts, every round times each of them (so a drift
 * of the machine's speed hits all alike) and the table adds each side's scaling: per round, ms at the fewest
 * threads / ms at each count, the median (and range) over rounds.
 *   npm run bench:torch -- [--model resnet18,resnet18w8] [--batch 64,256] [--threads 1,2] [--rounds 3]
 *     [--steps 3] [--repeats 3] [--warmup 8] [--k 8] [--python python3] [--json out.json]
 * Our side runs the training loop's K steps per onnxruntime run (`--k`, default 8, as `train` and `unlearn` do;
 * its timed steps and warm-up are rounded up to whole runs); `--k 1` times one step per run.
 * Both sides first run --warmup untimed steps: our first ~6 steps are slower while glibc's malloc raises its
 * mmap threshold (docs/PERFORMANCE.md), PyTorch's first one or two, so the timed steps are steady-state ones.
 * Needs a python3 that imports torch (and torchvision for resnet18, else an identical local definition is
 * used), e.g. Debian's `apt-get install python3-torch python3-torchvision`.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { writeFileAtomic } from "../src/io/atomic-write.js";
import { machineSummary } from "../src/runs/index.js";
import { WARMUP_STEPS } from "../src/training/benchmark.js";
import { DEFAULT_STEPS_PER_RUN } from "../src/training/session/options.js";
import { median } from "./median.js";
import { optionError } from "./option-error.js";

const o = new Command("bench:torch")
  .option("--model <list>", "resnet18 (32x32x3) and/or resnet18w8 (28x28x1)", "resnet18")
  .option("--batch <list>", "batch sizes", "64")
  .option("--threads <list>", "thread counts of both stacks (onnxruntime intra-op, torch.set_num_threads)", "2")
  .option("--rounds <n>", "paired rounds", "3")
  .option("--steps <n>", "timed steps per repeat", "3")
  .option("--repeats <n>", "timed repeats per process (median)", "3")
  .option("--warmup <n>", "untimed steps first, both sides", String(WARMUP_STEPS))
  .option("--k <n>", "our steps per onnxruntime run (default: the training loop's)", String(DEFAULT_STEPS_PER_RUN))
  .option("--python <exe>", "python with torch (default: python3, else /usr/bin/python3)")
  .option("--json <file>", "write the results as JSON")
  .parse(
    process.argv.slice(2).filter((a) => a !== "--"),
    { from: "user" },
  )
  .opts();

const fail = optionError("bench:torch");
const positive = (flag: string, v: string): number => {
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? n : fail(`--${flag} must be positive integers, got '${v}'`);
};
const list = (flag: string, v: string): string[] => {
  const xs = v.split(",").map((x) => x.trim());
  return xs.some((x) => x === "") ? fail(`--${flag}: empty entry in '${v}'`) : [...new Set(xs)];
};
const models = list("model", o.model);
for (const m of models)
  if (!["resnet18", "resnet18w8"].includes(m)) fail(`--model: resnet18 or resnet18w8, got '${m}'`);
const batches = list("batch", o.batch).map((b) => positive("batch", b));
const threads = list("threads", o.threads)
  .map((t) => positive("threads", t))
  .sort((a, b) => a - b);
for (const k of ["rounds", "steps", "repeats", "k"] as const) positive(k, o[k]);
if (!/^\d+$/.test(String(o.warmup))) fail(`--warmup must be a non-negative integer, got '${o.warmup}'`);
const importTorch = (exe: string) =>
  spawnSync(exe, ["-c", "import torch; print(torch.__version__)"], { encoding: "utf8" });
let probe = importTorch(o.python ?? "python3");
if (probe.status !== 0 && o.python === undefined) {
  const system = importTorch("/usr/bin/python3");
  if (system.status === 0) [probe, o.python] = [system, "/usr/bin/python3"];
}
if (probe.status !== 0)
  fail(
    `'${o.python ?? "python3"}' cannot import torch (${(probe.error?.message ?? probe.stderr.trim().split("\n").at(-1)) || "no output"}); install PyTorch (Debian: apt-get install python3-torch python3-torchvision) or pass --python`,
  );
const python: string = o.python ?? "python3";
const torchVersion = probe.stdout.trim();

interface Case {
  model: string;
  batch: number;
  threads: number;
}
const reps = ["--steps", o.steps, "--repeats", o.repeats, "--warmup", o.warmup];
const sides = {
  ours: {
    cmd: process.execPath,
    args: (c: Case, json: string) => [
      "--import",
      "tsx",
      "scripts/bench.ts",
      ...["--model", c.model, "--batch", String(c.batch), "--threads", String(c.threads)],
      ...reps,
      ...["--k", o.k, "--json", json],
    ],
    ms: (doc: { results: { msPerStep: number }[] }) => doc.results[0]!.msPerStep,
  },
  torch: {
    cmd: python,
    args: (c: Case, json: string) => [
      "scripts/gpu/torch_step.py",
      ...["--model", c.model, "--batch", String(c.batch), "--device", "cpu", "--cpu-batch", String(c.batch)],
      ...[
        "--cpu-threads",
        String(c.threads),
        "--cpu-steps",
        o.steps,
        "--cpu-repeats",
        o.repeats,
        "--warmup",
        o.warmup,
        "--json",
        json,
      ],
    ],
    ms: (doc: { timings: { msPerStep: number }[] }) => doc.timings[0]!.msPerStep,
  },
};

interface Round {
  round: number;
  order: string[];
  oursMs: number;
  torchMs: number;
  speedup: number;
}
const cases: Case[] = models.flatMap((model) =>
  batches.flatMap((batch) => threads.map((t) => ({ model, batch, threads: t }))),
);
const rounds = new Map<Case, Round[]>(cases.map((c) => [c, []]));
const dir = mkdtempSync(join(tmpdir(), "bench-torch-"));
const started = new Date().toISOString();
const load0 = loadavg()[0]!;
try {
  for (let r = 0; r < Number(o.rounds); r++) {
    for (const [i, c] of cases.entries()) {
      const order = (r + i) % 2 === 0 ? (["ours", "torch"] as const) : (["torch", "ours"] as const);
      const ms: Record<string, number> = {};
      for (const side of order) {
        const json = join(dir, `${side}-${r}-${i}.json`);
        const s = sides[side];
        const p = spawnSync(s.cmd, s.args(c, json), { encoding: "utf8", maxBuffer: 1 << 26 });
        if (p.status !== 0)
          fail(`${side} run ${r + 1} failed (exit ${p.status}): ${p.stderr.trim().split("\n").slice(-3).join(" | ")}`);
        ms[side] = s.ms(JSON.parse(readFileSync(json, "utf8")));
      }
      const round = {
        round: r + 1,
        order: [...order],
        oursMs: ms.ours!,
        torchMs: ms.torch!,
        speedup: ms.torch! / ms.ours!,
      };
      rounds.get(c)!.push(round);
      process.stderr.write(
        `round ${round.round}, ${c.model} batch ${c.batch} ${c.threads} thread(s) (${order.join(" then ")}): ours ${round.oursMs.toFixed(1)} ms/step, torch ${round.torchMs.toFixed(1)} ms/step, speedup ${round.speedup.toFixed(2)}x, load ${loadavg()[0]!.toFixed(2)}\n`,
      );
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const results = cases.map((c) => {
  const rs = rounds.get(c)!;
  return {
    ...c,
    oursMsPerStep: median(rs.map((r) => r.oursMs)),
    torchMsPerStep: median(rs.map((r) => r.torchMs)),
    speedup: median(rs.map((r) => r.speedup)),
    rounds: rs,
  };
});
/**
 * Per side, for the same model and batch, each round's ms at the fewest threads / ms at this count (both runs of
 * one round, a minute or two apart), and the median and range over the rounds: a ratio of the two medians would
 * pair runs taken many minutes apart, and this machine's speed drifts by up to ~30% over that (docs/PERFORMANCE.md,
 * ninth session; scripts/perf/thread-pairs.ts pairs them seconds apart in one process).
 */
const scaled = results.map((x) => {
  const base = results.find((y) => y.model === x.model && y.batch === x.batch && y.threads === threads[0])!;
  const perRound = (side: "oursMs" | "torchMs") => x.rounds.map((r, i) => base.rounds[i]![side] / r[side]);
  const [ours, torch] = [perRound("oursMs"), perRound("torchMs")];
  return {
    ...x,
    oursScaling: median(ours),
    torchScaling: median(torch),
    oursScalingRounds: ours,
    torchScalingRounds: torch,
  };
});
const machine = machineSummary();
const load1 = loadavg()[0]!;
const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const spread = (xs: number[]) =>
  xs.length > 1 ? `${f2(median(xs))}x (${f2(Math.min(...xs))}-${f2(Math.max(...xs))})` : `${f2(median(xs))}x`;
process.stdout.write(
  [
    `${started}, CPU; torch ${torchVersion}; machine: ${machine}; load average ${f2(load0)} -> ${f2(load1)}; median of ${o.rounds} paired rounds; ${o.warmup} warm-up steps, then ${o.repeats} x ${o.steps} timed; ours ${o.k} step(s) per onnxruntime run`,
    "",
    `| model | batch | threads | ours ms/step | PyTorch ms/step | speedup | ours scaling | PyTorch scaling |`,
    `|---|---|---|---|---|---|---|---|`,
    ...scaled.map(
      (x) =>
        `| ${x.model} | ${x.batch} | ${x.threads} | ${f1(x.oursMsPerStep)} | ${f1(x.torchMsPerStep)} | ${f2(x.speedup)}x | ${spread(x.oursScalingRounds)} | ${spread(x.torchScalingRounds)} |`,
    ),
    "",
  ].join("\n"),
);
if (o.json) {
  const doc = {
    started,
    torch: torchVersion,
    machine,
    loadAverage: [load0, load1],
    warmupSteps: Number(o.warmup),
    oursStepsPerRun: Number(o.k),
    results: scaled,
  };
  writeFileAtomic(o.json, new TextEncoder().encode(`${JSON.stringify(doc, null, 2)}\n`));
}
