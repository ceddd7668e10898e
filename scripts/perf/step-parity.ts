// One train step (lr 1, student weights perturbed so the MSE to the teacher is not zero) from the same start
// in two checkouts (see step-ab.ts): loss and the largest relative difference of each parameter's update.
// usage: npx tsx scripts/perf/step-parity.ts <base checkout> [resnet18w8|resnet18] [batch]
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
const [baseDir, model = "resnet18", batch = "8"] = process.argv.slice(2);
const small = model === "resnet18w8";
const [channels, image] = small ? [1, 28] : [3, 32];
async function one(root: string) {
  const load = (p: string) => import(pathToFileURL(resolve(root, p)).href);
  const { buildZooModel } = await load("src/models/index.ts");
  const { loadModel } = await load("src/onnx/model-io.ts");
  const { encodeModel } = await load("src/onnx/proto.ts");
  const { buildArtifacts } = await load("src/training/artifacts/index.ts");
  const { TrainingSession } = await load("src/training/session/index.ts");
  const bench = await load("src/training/benchmark.ts");
  const zoo = buildZooModel(model, { channels, imageSize: image, classes: 10 });
  const artifacts = await buildArtifacts(loadModel(encodeModel(zoo), { name: "m.onnx" }), { loss: "mse", teacher: true });
  const s = await TrainingSession.create(artifacts, { intraOpThreads: 2 });
  const x = bench.randomBatch([Number(batch), channels, image, image], 1);
  const p = s.getParameters();
  for (const [k, v] of p) { const d = v.data as Float32Array; for (let i = 0; i < d.length; i++) d[i] = d[i]! * (1 + 0.1 * Math.sin(i + k.length)); }
  s.setParameters(p);
  const r = await s.step(x, undefined, 1.0);
  const after = s.getParameters();
  await s.release();
  return { loss: r.loss, upd: new Map([...after].map(([k, v]) => [k, (v.data as Float32Array).map((a, i) => a - p.get(k)!.data[i]! as number)])) };
}
const a = await one(baseDir!), b = await one(".");
console.log("loss", a.loss, b.loss);
let worst = 0;
for (const [k, ua] of a.upd) { const ub = b.upd.get(k)!; let num = 0, den = 0; for (let i = 0; i < ua.length; i++) { num = Math.max(num, Math.abs(ua[i]! - ub[i]!)); den = Math.max(den, Math.abs(ua[i]!)); } const rel = num / (den || 1); if (rel > worst) worst = rel; if (rel > 1e-4) console.log(k, rel.toExponential(2)); }
console.log("worst relative update difference", worst.toExponential(2));
