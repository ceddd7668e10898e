// Experiment behind docs/PERFORMANCE.md "Thread spinning": 1 thread vs 2 threads with and without spinning, interleaved.
// usage: npx tsx scripts/perf/spinning.ts <resnet18|resnet18w8> <channels> <image> <batch>
import * as ort from "onnxruntime-node";
import { encodeModel } from "../../src/onnx/proto.js";
import { benchArtifacts, randomBatch } from "../../src/training/benchmark.js";
const [name, C, H, N] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5])];
const a = await benchArtifacts({ model: name, channels: C, imageSize: H });
const x = randomBatch([N, C, H, H], 1);
const feeds: Record<string, ort.Tensor> = {
  input: new ort.Tensor("float32", x.data as Float32Array, x.dims),
  lr: new ort.Tensor("float32", new Float32Array([0.001]), []),
};
for (const st of a.manifest.state)
  feeds[st.name] = new ort.Tensor(
    "float32",
    Float32Array.from(a.initialState.get(st.name)!.data as Float32Array),
    st.dims,
  );
const variants: Record<string, ort.InferenceSession.SessionOptions> = {
  t1: { intraOpNumThreads: 1 },
  "t2 spin": { intraOpNumThreads: 2 },
  "t2 nospin": { intraOpNumThreads: 2, extra: { session: { intra_op: { allow_spinning: "0" } } } },
};
const sessions: Record<string, ort.InferenceSession> = {};
for (const [k, o] of Object.entries(variants))
  sessions[k] = await ort.InferenceSession.create(encodeModel(a.trainStep), {
    ...o,
    extra: { ...(o.extra ?? {}), optimization: { disable_specified_optimizers: "ConstantSharing" } },
  });
const res: Record<string, number[][]> = {};
for (let r = 0; r < 6; r++)
  for (const [k, s] of Object.entries(sessions)) {
    const c0 = process.cpuUsage();
    const t = performance.now();
    await s.run(feeds, ["loss"]);
    const c = process.cpuUsage(c0);
    (res[k] ??= []).push([performance.now() - t, (c.user + c.system) / 1000]);
  }
const med = (v: number[]) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)]!;
for (const [k, v] of Object.entries(res))
  console.log(
    `${name} b${N}`,
    k.padEnd(10),
    "wall",
    med(v.slice(1).map((p) => p[0]!)).toFixed(0),
    "ms  cpu",
    med(v.slice(1).map((p) => p[1]!)).toFixed(0),
    "ms",
  );
