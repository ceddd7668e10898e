// Experiment behind docs/PERFORMANCE.md "JS <-> native copies": the cost of returning the state to JavaScript.
// usage: npx tsx scripts/perf/copy-cost.ts <resnet18|resnet18w8> <channels> <image> <batch>
import * as ort from "onnxruntime-node";
import { encodeModel } from "../../src/onnx/proto.js";
import { numel } from "../../src/onnx/tensor.js";
import { benchArtifacts, randomBatch } from "../../src/training/benchmark.js";
import { TrainingSession } from "../../src/training/session/index.js";
import { DISABLED_OPTIMIZERS } from "../../src/training/session/options.js";
const [name, C, H, N] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5])];
const a = await benchArtifacts({ model: name, channels: C, imageSize: H });
const stateBytes = a.manifest.state.reduce((s, e) => s + 4 * numel(e.dims), 0);
console.log(`${name} ${C}x${H}x${H} batch ${N}: state ${(stateBytes / 2 ** 20).toFixed(1)} MiB`);
const x = randomBatch([N, C, H, H], 1);
const raw = await ort.InferenceSession.create(encodeModel(a.trainStep), {
  intraOpNumThreads: 2,
  extra: {
    optimization: { disable_specified_optimizers: DISABLED_OPTIMIZERS },
    session: { intra_op: { allow_spinning: "0" } },
  },
});
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
const names = ["loss", ...a.manifest.state.map((s) => s.output)];
const session = await TrainingSession.create(a, { intraOpThreads: 2 });
const xs = { dtype: "float32" as const, dims: [4, ...x.dims], data: new Float32Array(4 * x.data.length) };
const measure = async (f: () => Promise<unknown>, steps = 1) => {
  const c0 = process.cpuUsage();
  const t = performance.now();
  await f();
  const c = process.cpuUsage(c0);
  return [(performance.now() - t) / steps, (c.user + c.system) / 1000 / steps];
};
const res: Record<string, number[][]> = { raw: [], session: [], loop4: [], lossOnly: [] };
for (let r = 0; r < 7; r++) {
  res.raw!.push(await measure(() => raw.run(feeds, names)));
  res.lossOnly!.push(await measure(() => raw.run(feeds, ["loss"])));
  res.session!.push(await measure(() => session.step(x, undefined, 0.001)));
  res.loop4!.push(await measure(() => session.stepMany(xs, undefined, 0.001), 4));
}
const med = (v: number[]) => [...v].sort((p, q) => p - q)[Math.floor(v.length / 2)]!;
for (const [k, v] of Object.entries(res))
  console.log(
    k.padEnd(10),
    "wall ms/step",
    med(v.slice(1).map((p) => p[0]!)).toFixed(1),
    "cpu ms/step",
    med(v.slice(1).map((p) => p[1]!)).toFixed(1),
  );
