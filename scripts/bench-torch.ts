/**
 * Our train step against PyTorch eager doing the same step, on this machine's CPU, in one run: rounds of
 * `scripts/bench.ts` and `scripts/gpu/torch_step.py` as separate processes, the order alternated
 * (ours-torch, torch-ours, ...), equal threads, batch, model and step counts. Each side reports the median
 * ms/step of its repeats (warm-up excluded); the speedup of a round is torch ms / our ms, and the figure to
 * quote is the median over rounds.
 *   npm run bench:torch -- [--model resnet18|resnet18w8] [--batch 64] [--threads 2] [--rounds 3]
 *     [--steps 3] [--repeats 3] [--python python3] [--json out.json]
 * Needs a python3 that imports torch (and torchvision for resnet18, else an identical local definition is
 * used), e.g. Debian's `apt-get install python3-torch python3-torchvision`.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { writeFileAtomic } from "../src/io/atomic-write.js";

const o = new Command("bench:torch")
  .option("--model <name>", "resnet18 (32x32x3) | resnet18w8 (28x28x1)", "resnet18")
  .option("--batch <n>", "batch size", "64")
  .option("--threads <n>", "threads of both stacks (onnxruntime intra-op, torch.set_num_threads)", "2")
  .option("--rounds <n>", "paired rounds", "3")
  .option("--steps <n>", "timed steps per repeat", "3")
  .option("--repeats <n>", "timed repeats per process (median)", "3")
  .option("--python <exe>", "python with torch (default: python3, else /usr/bin/python3)")
  .option("--json <file>", "write the results as JSON")
  .parse(
    process.argv.slice(2).filter((a) => a !== "--"),
    { from: "user" },
  )
  .opts();

const fail = (msg: string): never => {
  process.stderr.write(`bench:torch: ${msg}\n`);
  process.exit(2);
};
if (!["resnet18", "resnet18w8"].includes(o.model)) fail(`--model must be resnet18 or resnet18w8, got '${o.model}'`);
for (const k of ["batch", "threads", "rounds", "steps", "repeats"] as const) {
  if (!(Number.isInteger(Number(o[k])) && Number(o[k]) > 0)) fail(`--${k} must be a positive integer, got '${o[k]}'`);
}
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
o.python ??= "python3";
const torchVersion = probe.stdout.trim();

const dir = mkdtempSync(join(tmpdir(), "bench-torch-"));
const common = ["--model", o.model, "--batch", o.batch];
const sides = {
  ours: {
    cmd: process.execPath,
    args: (json: string) => [
      "--import",
      "tsx",
      "scripts/bench.ts",
      ...common,
      "--threads",
      o.threads,
      "--steps",
      o.steps,
      "--repeats",
      o.repeats,
      "--json",
      json,
    ],
    ms: (doc: { results: { msPerStep: number }[] }) => doc.results[0]!.msPerStep,
  },
  torch: {
    cmd: o.python,
    args: (json: string) => [
      "scripts/gpu/torch_step.py",
      ...common.slice(0, 2),
      "--device",
      "cpu",
      "--cpu-batch",
      o.batch,
      "--cpu-threads",
      o.threads,
      "--cpu-steps",
      o.steps,
      "--cpu-repeats",
      o.repeats,
      "--json",
      json,
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
const rounds: Round[] = [];
const started = new Date().toISOString();
const load0 = loadavg()[0]!;
try {
  for (let r = 0; r < Number(o.rounds); r++) {
    const order = r % 2 === 0 ? (["ours", "torch"] as const) : (["torch", "ours"] as const);
    const ms: Record<string, number> = {};
    for (const side of order) {
      const json = join(dir, `${side}-${r}.json`);
      const s = sides[side];
      const p = spawnSync(s.cmd, s.args(json), { encoding: "utf8", maxBuffer: 1 << 26 });
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
    rounds.push(round);
    process.stderr.write(
      `round ${round.round} (${order.join(" then ")}): ours ${round.oursMs.toFixed(1)} ms/step, torch ${round.torchMs.toFixed(1)} ms/step, speedup ${round.speedup.toFixed(2)}x\n`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const batch = Number(o.batch);
const summary = {
  oursMsPerStep: median(rounds.map((r) => r.oursMs)),
  torchMsPerStep: median(rounds.map((r) => r.torchMs)),
  speedup: median(rounds.map((r) => r.speedup)),
};
const machine = `${cpus().length} x ${cpus()[0]?.model ?? "?"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`;
const load1 = loadavg()[0]!;
process.stdout.write(
  [
    `${started} ${o.model}, batch ${batch}, ${o.threads} threads, CPU; torch ${torchVersion}; machine: ${machine}; load average ${load0.toFixed(1)} -> ${load1.toFixed(1)}`,
    `ours ${summary.oursMsPerStep.toFixed(1)} ms/step (${((batch * 1000) / summary.oursMsPerStep).toFixed(0)} img/s), ` +
      `PyTorch eager ${summary.torchMsPerStep.toFixed(1)} ms/step (${((batch * 1000) / summary.torchMsPerStep).toFixed(0)} img/s), ` +
      `speedup (median of ${rounds.length} paired rounds) ${summary.speedup.toFixed(2)}x`,
    "",
  ].join("\n"),
);
if (o.json) {
  const doc = {
    started,
    model: o.model,
    batch,
    threads: Number(o.threads),
    torch: torchVersion,
    machine,
    loadAverage: [load0, load1],
    ...summary,
    rounds,
  };
  writeFileAtomic(o.json, new TextEncoder().encode(`${JSON.stringify(doc, null, 2)}\n`));
}
