// The training loop's K-step run (stepMany's ONNX Loop over the method's resnet18 step, batch 64, inputs made
// once) under variant onnxruntime session options, the sessions alternated in one process: ms per step.
//   npx tsx scripts/perf/loop-options.ts [threads] [rounds] [K]
import { loadavg } from "node:os";
import { InferenceSession, Tensor as OrtTensor } from "onnxruntime-node";
import { encodeModel } from "../../src/onnx/proto.js";
import { toOrt } from "../../src/training/ort-tensor.js";
import { benchArtifacts, randomBatch } from "../../src/training/benchmark.js";
import { withInputNoise } from "../../src/training/session/input-noise.js";
import { buildMultiStep } from "../../src/training/session/multi-step.js";
import { resolveOptions, sessionOptions } from "../../src/training/session/options.js";

const [threads, rounds, k] = [process.argv[2] ?? "2", process.argv[3] ?? "6", process.argv[4] ?? "8"].map(Number) as [
  number,
  number,
  number,
];
const artifacts = await benchArtifacts({ model: "resnet18", channels: 3, imageSize: 32, classes: 10 });
const m = artifacts.manifest;
const multi = buildMultiStep(withInputNoise(artifacts.trainStep, m.inputs.batch, { std: 0.01, seed: 0 }), m);
const bytes = encodeModel(multi.model);
const base = sessionOptions(resolveOptions({ intraOpThreads: threads }), "cpu");
const variants: Record<string, InferenceSession.SessionOptions> = {
  default: base,
  spinning: sessionOptions(resolveOptions({ intraOpThreads: threads, allowSpinning: true }), "cpu"),
  "no memory pattern": { ...base, enableMemPattern: false },
  "basic optimisation": { ...base, graphOptimizationLevel: "basic" },
};
const sessions = new Map<string, InferenceSession>();
for (const [name, options] of Object.entries(variants))
  sessions.set(name, await InferenceSession.create(bytes, options));
const feeds: Record<string, OrtTensor> = {};
for (const s of m.state) feeds[s.name] = toOrt(artifacts.initialState.get(s.name)!);
feeds[multi.names.batches] = toOrt(randomBatch([k, 64, 3, 32, 32], 1));
feeds[multi.names.lrs] = new OrtTensor("float32", new Float32Array(k).fill(0.001), [k]);
for (const s of sessions.values()) for (let i = 0; i < 2; i++) await s.run(feeds);
const names = [...sessions.keys()];
const ms = new Map<string, number[]>(names.map((n) => [n, []]));
const load0 = loadavg()[0]!;
for (let r = 0; r < rounds; r++) {
  for (const name of r % 2 ? [...names].reverse() : names) {
    const t0 = performance.now();
    await sessions.get(name)!.run(feeds);
    ms.get(name)!.push((performance.now() - t0) / k);
  }
}
console.log(
  `resnet18 batch 64, ${threads} thread(s), K ${k}, ${rounds} rounds, load ${load0.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)}`,
);
for (const [name, xs] of ms)
  console.log(
    `  ${name}: ${xs.map((x) => x.toFixed(0)).join(" ")} ms/step, median ${[...xs].sort((a, b) => a - b)[xs.length >> 1]!.toFixed(1)}`,
  );
for (const s of sessions.values()) await s.release();
