/**
 * Experiment behind the Conv rule's one-Gemm weight gradient (docs/PERFORMANCE.md, tenth session): dW of a 3x3
 * stride-1 pad-1 conv in three forms, as one-node-group graphs timed alternately in one process (median of 9 rounds
 * of 2 runs, ms per run), with the largest difference to the first form:
 *   - batched: grouped one-hot Conv over X -> columns [N, C*9, P], one MatMul per sample with dY^T, ReduceSum
 *     over N (weightGradBatched);
 *   - gemm: X^T [C, 1, N, H, W] through a one-hot 3-D Conv -> columns [C*9, N*P], one Gemm (weightGradColumns);
 *   - folded: X as the image [1, N, C, H, W], dY^T as the kernel (weightGradConv, batch-folded);
 * and the forward Conv of the same shape for scale.
 *   npx tsx scripts/perf/weight-grad-gemm.ts <N> <C> <O> <H> <threads>
 */
import * as ort from "onnxruntime-node";
import { im2colKernel } from "../../src/autograd/index.js";
import { GraphBuilder } from "../../src/onnx/builder.js";
import { encodeModel, newGraph, newModel, newOpset } from "../../src/onnx/proto.js";
import { float32, int64 } from "../../src/onnx/tensor.js";
import { median } from "../median.js";

const [N, C, O, H, threads] = process.argv.slice(2, 7).map(Number) as [number, number, number, number, number];
if (![N, C, O, H, threads].every((v) => Number.isInteger(v) && v > 0))
  throw new Error("usage: weight-grad-gemm.ts <N> <C> <O> <H> <threads> (positive integers)");
const P = H * H;

function model(body: (b: GraphBuilder) => void, out: number[]): Uint8Array {
  const g = newGraph({ name: "g" });
  const b = new GraphBuilder(g);
  b.addInput("x", "float32", [N, C, H, H]);
  b.addInput("dy", "float32", [N, O, H, H]);
  b.addInput("w", "float32", [O, C, 3, 3]);
  body(b);
  b.addOutput("out", "float32", out);
  return encodeModel(newModel({ irVersion: 8n, opsetImport: [newOpset("", 17)], graph: g }));
}
const shape = (b: GraphBuilder, v: number[]) => b.constant("shape", int64([v.length], v));
/** The Conv rule's one-hot im2col kernel for `channels` channels of 3x3 taps, shaped `dims`. */
const oneHot = (channels: number, dims: number[]) => float32(dims, im2colKernel(channels, 9));

const forms: Record<string, Uint8Array> = {
  batched: model(
    (b) => {
      const im2col = b.op("Conv", ["x", b.constant("k", oneHot(C, [C * 9, 1, 3, 3]))], {
        group: C,
        pads: [1, 1, 1, 1],
      });
      const dyT = b.op("Transpose", [b.op("Reshape", ["dy", shape(b, [N, O, P])])], { perm: [0, 2, 1] });
      const perSample = b.op("MatMul", [b.op("Reshape", [im2col, shape(b, [N, C * 9, P])]), dyT]);
      const summed = b.op("ReduceSum", [perSample, b.constant("axes", int64([1], [0]))], { keepdims: 0 });
      b.node("Transpose", [summed], { outputs: ["out"], attrs: { perm: [1, 0] } });
    },
    [O, C * 9],
  ),
  gemm: model(
    (b) => {
      const samplesAsDepth = b.op("Reshape", [
        b.op("Transpose", ["x"], { perm: [1, 0, 2, 3] }),
        shape(b, [C, 1, N, H, H]),
      ]);
      const cols = b.op("Conv", [samplesAsDepth, b.constant("k", oneHot(1, [9, 1, 1, 3, 3]))], {
        pads: [0, 1, 1, 0, 1, 1],
      });
      const dyT = b.op("Reshape", [b.op("Transpose", ["dy"], { perm: [1, 0, 2, 3] }), shape(b, [O, N * P])]);
      b.node("Gemm", [dyT, b.op("Reshape", [cols, shape(b, [C * 9, N * P])])], {
        outputs: ["out"],
        attrs: { transB: 1 },
      });
    },
    [O, C * 9],
  ),
  folded: model(
    (b) => {
      const image = b.op("Unsqueeze", ["x", b.constant("a0", int64([1], [0]))]);
      const kernel = b.op("Unsqueeze", [
        b.op("Transpose", ["dy"], { perm: [1, 0, 2, 3] }),
        b.constant("a2", int64([1], [2])),
      ]);
      const dW = b.op("Conv", [image, kernel], { kernel_shape: [1, H, H], pads: [0, 1, 1, 0, 1, 1] });
      b.node("Reshape", [dW, shape(b, [O, C * 9])], { outputs: ["out"] });
    },
    [O, C * 9],
  ),
  forward: model((b) => b.node("Conv", ["x", "w"], { outputs: ["out"], attrs: { pads: [1, 1, 1, 1] } }), [N, O, H, H]),
};

const random = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
const feeds = {
  x: new ort.Tensor("float32", random(N * C * P), [N, C, H, H]),
  dy: new ort.Tensor("float32", random(N * O * P), [N, O, H, H]),
  w: new ort.Tensor("float32", random(O * C * 9), [O, C, 3, 3]),
};
const sessions = new Map<string, ort.InferenceSession>();
for (const [name, bytes] of Object.entries(forms))
  sessions.set(
    name,
    await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: threads,
      extra: { session: { intra_op: { allow_spinning: "0" } } },
    }),
  );
const result = async (name: string) => (await sessions.get(name)!.run(feeds)).out!.data as Float32Array;
const first = await result("batched");
const diff: Record<string, number> = {};
for (const name of ["gemm", "folded"]) {
  const other = await result(name);
  diff[name] = first.reduce((m, v, i) => Math.max(m, Math.abs(v - other[i]!)), 0);
}
const times = new Map([...sessions.keys()].map((k) => [k, [] as number[]]));
for (let round = 0; round < 9; round++)
  for (const [name, s] of sessions) {
    await s.run(feeds);
    const t = performance.now();
    await s.run(feeds);
    await s.run(feeds);
    times.get(name)!.push((performance.now() - t) / 2);
  }
const ms = (name: string) => median(times.get(name)!).toFixed(2);
const largest = first.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
console.log(
  `N ${N} C ${C} O ${O} ${H}x${H}, ${threads} thread(s): batched ${ms("batched")}, gemm ${ms("gemm")}, folded ` +
    `${ms("folded")}, forward ${ms("forward")} ms; largest |dW| ${largest.toFixed(2)}, ` +
    `differences to batched: gemm ${diff.gemm!.toExponential(2)}, folded ${diff.folded!.toExponential(2)}`,
);
