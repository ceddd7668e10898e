// Paired A/B of the method's train step (the bench's step) between two checkouts in one process:
// artifacts built by each tree's own autograd rules, sessions alternated, wall ms per step median.
//   git worktree add --detach /tmp/convbase <commit> && ln -s "$PWD/node_modules" /tmp/convbase/node_modules
//   npx tsx scripts/perf/step-ab.ts /tmp/convbase [resnet18w8|resnet18] [batch] [rounds] [threads]
import { loadavg } from "node:os";
import { importFrom, sampleShape, zooArtifacts } from "./checkout.js";

const [baseDir, model = "resnet18w8", batchArg = "64", roundsArg = "6", threadsArg = "2"] = process.argv.slice(2);
if (!baseDir) throw new Error("usage: step-ab.ts <base checkout> [model] [batch] [rounds] [threads]");
const [batch, rounds, threads] = [Number(batchArg), Number(roundsArg), Number(threadsArg)];
const [channels, image] = sampleShape(model);

async function open(root: string) {
  const bench = await importFrom(root, "src/training/benchmark.ts");
  const artifacts = await zooArtifacts(root, model);
  const session = await bench.openBenchSession({ artifacts, intraOpThreads: threads });
  const run = async () =>
    (await bench.benchmarkStep({
      artifacts,
      session,
      intraOpThreads: threads,
      sampleDims: [channels, image, image],
      batch,
      steps: 2,
      repeats: 1,
      warmupRuns: 1,
    })) as { msPerStep: number; lastLoss: number };
  return { run, session };
}
const load0 = loadavg()[0]!;
const sides = { base: await open(baseDir), new: await open(".") };
const times: Record<string, number[]> = { base: [], new: [] };
const loss: Record<string, number> = {};
for (let r = 0; r < rounds; r++) {
  for (const k of r % 2 ? (["new", "base"] as const) : (["base", "new"] as const)) {
    const res = await sides[k].run();
    times[k]!.push(res.msPerStep);
    loss[k] = res.lastLoss;
  }
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)]!;
for (const k of ["base", "new"])
  console.log(
    `${k}: median ${median(times[k]!).toFixed(1)} ms/step = ${((batch * 1000) / median(times[k]!)).toFixed(0)} img/s; runs ${times[k]!.map((t) => t.toFixed(0)).join(" ")}; last loss ${loss[k]}`,
  );
console.log(`${model} batch ${batch}, ${threads} threads, load ${load0.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)}`);
for (const s of Object.values(sides)) await s.session.release();
