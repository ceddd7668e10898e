/**
 * Each stack's 1 -> 2 thread speed-up from pairs taken seconds apart in one process: our step at both thread
 * counts (two sessions on the same artifacts; each half of a pair is one onnxruntime run of K steps) and
 * PyTorch eager's (scripts/perf/torch_thread_pairs.py, torch.set_num_threads between the halves), the order
 * swapped every pair. On this shared machine the speed of one process drifts by up to ~30% over tens of
 * seconds (docs/PERFORMANCE.md, ninth session), so a ratio of two medians taken minutes apart, as in
 * bench:torch, moves with it; both halves of a pair see the same drift. Rounds alternate the two stacks'
 * processes; the speed-up reported is the median over all pairs of (ms at the fewer threads / ms at the more).
 *   npx tsx scripts/perf/thread-pairs.ts [--model resnet18] [--batch 64,256] [--threads 1,2] [--rounds 2]
 *     [--pairs 4] [--k 8] [--spin] [--python /usr/bin/python3] [--json out.json]
 */
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { Command } from "commander";
import { writeFileAtomic } from "../../src/io/atomic-write.js";
import { benchArtifacts, openBenchSession, randomBatch, WARMUP_STEPS } from "../../src/training/benchmark.js";
import { median, medianRange } from "../median.js";
import { optionError } from "../option-error.js";

const o = new Command("thread-pairs")
  .option("--model <name>", "resnet18 (32x32x3) or resnet18w8 (28x28x1)", "resnet18")
  .option("--batch <list>", "batch sizes", "64,256")
  .option("--threads <a,b>", "the two thread counts", "1,2")
  .option("--rounds <n>", "processes per stack and batch, the stacks alternated", "2")
  .option("--pairs <n>", "pairs per process", "4")
  .option("--k <n>", "steps per half-pair (ours: one onnxruntime run of K steps; PyTorch: K steps)", "8")
  .option("--python <exe>", "python with torch", "/usr/bin/python3")
  .option("--spin", "let onnxruntime's threads spin while they wait (ours; PyTorch's OpenMP threads spin by default)")
  .option("--json <file>", "write the pairs and the summary as JSON")
  .option("--side <ours>", "(internal) run our side in this process and print its pairs")
  .parse(
    process.argv.slice(2).filter((a) => a !== "--"),
    { from: "user" },
  )
  .opts();

const fail = optionError("thread-pairs");
const positive = (flag: string, v: string): number => {
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? n : fail(`--${flag} must be a positive integer, got '${v}'`);
};
if (!["resnet18", "resnet18w8"].includes(o.model)) fail(`--model: resnet18 or resnet18w8, got '${o.model}'`);
const counts = String(o.threads)
  .split(",")
  .map((t) => positive("threads", t));
const [lo, hi] = counts;
if (counts.length !== 2 || lo! >= hi!) fail(`--threads: two counts, fewer first, got '${o.threads}'`);
if (o.side !== undefined && o.side !== "ours") fail(`--side: only 'ours' (internal), got '${o.side}'`);
const batches = String(o.batch)
  .split(",")
  .map((b) => positive("batch", b));
const [rounds, pairs, k] = [positive("rounds", o.rounds), positive("pairs", o.pairs), positive("k", o.k)];
const sample = o.model === "resnet18" ? { channels: 3, imageSize: 32 } : { channels: 1, imageSize: 28 };

interface Pair {
  pair: number;
  ms: Record<string, number>;
  load: number;
}

if (o.side === "ours") {
  const artifacts = await benchArtifacts({ model: o.model, ...sample, classes: 10 });
  const batch = batches[0]!;
  const sessions = new Map<number, Awaited<ReturnType<typeof openBenchSession>>>();
  for (const t of [lo!, hi!])
    sessions.set(t, await openBenchSession({ artifacts, intraOpThreads: t, allowSpinning: !!o.spin }));
  const x = randomBatch([k, batch, sample.channels, sample.imageSize, sample.imageSize], 1);
  const run = (t: number) => sessions.get(t)!.stepMany(x, undefined, 0.001);
  for (const t of [lo!, hi!]) for (let i = 0; i < Math.ceil(WARMUP_STEPS / k); i++) await run(t);
  for (let p = 0; p < pairs; p++) {
    const ms: Record<string, number> = {};
    for (const t of p % 2 === 0 ? [lo!, hi!] : [hi!, lo!]) {
      const t0 = performance.now();
      await run(t);
      ms[t] = (performance.now() - t0) / k;
    }
    console.log(JSON.stringify({ pair: p, ms, load: loadavg()[0] }));
  }
  for (const s of sessions.values()) await s.release();
  process.exit(0);
}

function side(name: "ours" | "torch", batch: number): Pair[] {
  const common = ["--model", o.model, "--batch", String(batch), "--threads", `${lo},${hi}`, "--pairs", String(pairs)];
  const [cmd, args] =
    name === "ours"
      ? [process.execPath, ["--import", "tsx", "scripts/perf/thread-pairs.ts", "--k", String(k), "--side", "ours"]]
      : [o.python, ["scripts/perf/torch_thread_pairs.py", "--steps", String(k), "--warmup", String(WARMUP_STEPS)]];
  const r = spawnSync(cmd, [...args, ...common, ...(name === "ours" && o.spin ? ["--spin"] : [])], {
    encoding: "utf8",
  });
  if (r.status !== 0) {
    console.error(
      `thread-pairs: the ${name} side failed (exit ${r.status}): ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`,
    );
    process.exit(1);
  }
  return r.stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Pair);
}

const started = new Date().toISOString();
const load0 = loadavg()[0]!;
const results: { batch: number; side: string; round: number; pairs: Pair[] }[] = [];
for (const batch of batches)
  for (let r = 0; r < rounds; r++)
    for (const name of r % 2 === 0 ? (["ours", "torch"] as const) : (["torch", "ours"] as const)) {
      const got = side(name, batch);
      results.push({ batch, side: name, round: r, pairs: got });
      const ratios = got.map((p) => (p.ms[lo!]! / p.ms[hi!]!).toFixed(2));
      console.log(`batch ${batch} round ${r + 1} ${name}: ${lo} -> ${hi} threads per pair ${ratios.join(", ")}`);
    }

console.log(
  `\n${started} ${o.model}, threads ${lo} -> ${hi}${o.spin ? " (ours spinning)" : ""}, ${rounds} process(es) x ${pairs} pairs per stack and batch, ${k} steps per half; load average ${load0.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)}\n`,
);
console.log(
  `| batch | stack | ms/step at ${lo} | ms/step at ${hi} | speed-up ${lo} -> ${hi}, median (range) of pairs |`,
);
console.log("|---|---|---|---|---|");
const summary = [];
for (const batch of batches)
  for (const name of ["ours", "torch"]) {
    const ps = results.filter((x) => x.batch === batch && x.side === name).flatMap((x) => x.pairs);
    const [a, b] = [ps.map((p) => p.ms[lo!]!), ps.map((p) => p.ms[hi!]!)];
    const ratio = ps.map((p) => p.ms[lo!]! / p.ms[hi!]!);
    console.log(
      `| ${batch} | ${name === "ours" ? "ours" : "PyTorch"} | ${medianRange(a, 1)} | ${medianRange(b, 1)} | ${medianRange(ratio, 2)}x |`,
    );
    summary.push({ batch, side: name, pairs: ps.length, msLo: median(a), msHi: median(b), speedup: median(ratio) });
  }
if (o.json)
  writeFileAtomic(
    o.json,
    new TextEncoder().encode(
      JSON.stringify(
        { started, model: o.model, threads: [lo, hi], k, load: [load0, loadavg()[0]], summary, results },
        null,
        2,
      ) + "\n",
    ),
  );
