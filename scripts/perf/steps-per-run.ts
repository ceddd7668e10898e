// One step per onnxruntime run (step) against K steps per run (stepMany, the training loop's default) on one
// session, alternated in one process, a fresh batch array per step as the training loop makes: wall ms per
// step and minor page faults per step, each round's and the medians.
//   npx tsx scripts/perf/steps-per-run.ts [resnet18|resnet18w8] [batch] [threads] [rounds] [K]
import { loadavg } from "node:os";
import { benchArtifacts, openBenchSession, randomBatch } from "../../src/training/benchmark.js";

const [model = "resnet18", batchArg = "64", threadsArg = "2", roundsArg = "6", kArg = "8"] = process.argv.slice(2);
const [batch, threads, rounds, k] = [batchArg, threadsArg, roundsArg, kArg].map(Number) as [
  number,
  number,
  number,
  number,
];
const sample = model === "resnet18w8" ? [1, 28, 28] : [3, 32, 32];
const artifacts = await benchArtifacts({ model, channels: sample[0]!, imageSize: sample[1]!, classes: 10 });
const session = await openBenchSession({ artifacts, intraOpThreads: threads });
const steps = k * Math.max(1, Math.ceil(8 / k));
let seed = 0;
const modes = {
  "1 per run": async () => {
    for (let i = 0; i < steps; i++) await session.step(randomBatch([batch, ...sample], seed++), undefined, 0.001);
  },
  [`${k} per run`]: async () => {
    for (let i = 0; i < steps / k; i++)
      await session.stepMany(randomBatch([k, batch, ...sample], seed++), undefined, 0.001);
  },
};
const names = Object.keys(modes);
for (const f of Object.values(modes)) await f(); // warm-up: both sessions, allocator growth
const ms: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
const faults: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
const load0 = loadavg()[0]!;
for (let r = 0; r < rounds; r++) {
  for (const name of r % 2 ? [...names].reverse() : names) {
    const f0 = process.resourceUsage().minorPageFault;
    const t0 = performance.now();
    await modes[name]!();
    ms[name]!.push((performance.now() - t0) / steps);
    faults[name]!.push((process.resourceUsage().minorPageFault - f0) / steps);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(
  `${model} batch ${batch}, ${threads} thread(s), ${rounds} rounds of ${steps} steps, load ${load0.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)}`,
);
for (const n of names)
  console.log(
    `  ${n}: ms/step ${ms[n]!.map((x) => x.toFixed(0)).join(" ")} (median ${median(ms[n]!).toFixed(1)}), faults/step median ${median(faults[n]!).toFixed(0)}`,
  );
console.log(`  ratio (1 per run / ${k} per run): ${(median(ms[names[0]!]!) / median(ms[names[1]!]!)).toFixed(2)}x`);
await session.release();
