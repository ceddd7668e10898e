// One train step (lr 1, student weights perturbed so the MSE to the teacher is not zero) from the same start
// in two checkouts (see step-ab.ts): loss and the largest relative difference of each state value's update
// (parameters, BatchNorm running statistics, momenta).
// usage: [PARITY_SHOW=1e-4] npx tsx scripts/perf/step-parity.ts <base checkout> [resnet18w8|resnet18] [batch] [threads]
// (PARITY_SHOW: also list each state tensor whose relative update difference is above it; default 1e-4.
// threads: onnxruntime's intra-op threads, one count for both sides or "base,this" (default 2); with the base
// checkout "." and "1,2" it compares this checkout with itself at two thread counts: the runtime's own noise)
import { optionError } from "../option-error.js";
import { importFrom, sampleShape, zooArtifacts } from "./checkout.js";
const fail = optionError("step-parity");
const [baseDir, model = "resnet18", batch = "8", threadsArg = "2"] = process.argv.slice(2);
const [channels, image] = sampleShape(model);
const show = Number(process.env.PARITY_SHOW ?? 1e-4);
if (!(show >= 0)) fail(`PARITY_SHOW must be a number >= 0, got '${process.env.PARITY_SHOW}'`);
const threads = threadsArg.split(",").map(Number);
if (threads.length > 2 || !threads.every((t) => Number.isInteger(t) && t >= 1))
  fail(`threads must be one count or two ("base,this"), each an integer >= 1, got '${threadsArg}'`);
const [baseThreads, ourThreads = baseThreads] = threads as [number, number?];
async function one(root: string, intraOpThreads: number) {
  const { TrainingSession } = await importFrom(root, "src/training/session/index.ts");
  const bench = await importFrom(root, "src/training/benchmark.ts");
  const artifacts = await zooArtifacts(root, model);
  const s = await TrainingSession.create(artifacts, { intraOpThreads });
  const x = bench.randomBatch([Number(batch), channels, image, image], 1);
  const p = s.getParameters();
  for (const [k, v] of p) {
    const d = v.data as Float32Array;
    for (let i = 0; i < d.length; i++) d[i] = d[i]! * (1 + 0.1 * Math.sin(i + k.length));
  }
  s.setParameters(p);
  const before = s.getState();
  const r = await s.step(x, undefined, 1.0);
  const after = s.getState();
  await s.release();
  return {
    loss: r.loss,
    upd: new Map(
      [...after].map(([k, v]) => [k, (v.data as Float32Array).map((a, i) => (a - before.get(k)!.data[i]!) as number)]),
    ),
  };
}
const a = await one(baseDir!, baseThreads),
  b = await one(".", ourThreads);
console.log("loss", a.loss, b.loss);
let worst = 0;
for (const [k, ua] of a.upd) {
  const ub = b.upd.get(k)!;
  let num = 0,
    den = 0;
  for (let i = 0; i < ua.length; i++) {
    num = Math.max(num, Math.abs(ua[i]! - ub[i]!));
    den = Math.max(den, Math.abs(ua[i]!));
  }
  const rel = num / (den || 1);
  if (rel > worst) worst = rel;
  if (rel > show) console.log(k, rel.toExponential(2));
}
console.log(`worst relative update difference over ${a.upd.size} state tensors`, worst.toExponential(2));
