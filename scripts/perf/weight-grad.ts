// Experiment behind docs/PERFORMANCE.md "An alternative weight gradient": dW of a 3x3 s1 p1 conv as ORT Conv
// (X^T conv dY^T, what the Conv rule emits) vs 9 shifted slices + one batched MatMul. CPU ms per run, max difference.
// usage: npx tsx scripts/perf/weight-grad.ts <N> <Cin> <Cout> <H>
import * as ort from "onnxruntime-node";
import { GraphBuilder } from "../../src/onnx/builder.js";
import { newGraph, newModel, newOpset, encodeModel } from "../../src/onnx/proto.js";
import { int64 } from "../../src/onnx/tensor.js";
const [N, C, O, H] = [
  Number(process.argv[2] ?? 64),
  Number(process.argv[3] ?? 8),
  Number(process.argv[4] ?? 8),
  Number(process.argv[5] ?? 28),
];
const mk = (f: (b: GraphBuilder) => void) => {
  const g = newGraph({ name: "g" });
  const b = new GraphBuilder(g);
  b.addInput("x", "float32", [N, C, H, H]);
  b.addInput("dy", "float32", [N, O, H, H]);
  f(b);
  b.addOutput("dw", "float32", [O, C, 3, 3]);
  return encodeModel(newModel({ irVersion: 8n, opsetImport: [newOpset("", 17)], graph: g }));
};
const convWay = mk((b) => {
  const xT = b.op("Transpose", ["x"], { perm: [1, 0, 2, 3] });
  const dyT = b.op("Transpose", ["dy"], { perm: [1, 0, 2, 3] });
  const dw = b.op("Conv", [xT, dyT], { kernel_shape: [H, H], pads: [1, 1, 1, 1] });
  b.node("Transpose", [dw], { outputs: ["dw"], attrs: { perm: [1, 0, 2, 3] } });
});
const mmWay = mk((b) => {
  const xT = b.op("Transpose", ["x"], { perm: [1, 0, 2, 3] }); // [C,N,H,W]
  const xp = b.op("Pad", [xT, b.constant("pads", int64([8], [0, 0, 1, 1, 0, 0, 1, 1]))]); // [C,N,H+2,W+2]
  const shifts: string[] = [];
  for (let ky = 0; ky < 3; ky++)
    for (let kx = 0; kx < 3; kx++) {
      const s = b.op("Slice", [
        xp,
        b.constant("st", int64([2], [ky, kx])),
        b.constant("en", int64([2], [ky + H, kx + H])),
        b.constant("ax", int64([2], [2, 3])),
      ]);
      shifts.push(b.op("Unsqueeze", [s, b.constant("u0", int64([1], [0]))]));
    }
  const cols = b.op("Reshape", [b.op("Concat", shifts, { axis: 0 }), b.constant("shp", int64([3], [9, C, -1]))]); // [9,C,NHW]
  const dym = b.op("Reshape", [
    b.op("Transpose", ["dy"], { perm: [0, 2, 3, 1] }),
    b.constant("shp2", int64([2], [-1, O])),
  ]); // [NHW,O]
  const r = b.op("MatMul", [cols, dym]); // [9,C,O]
  b.node("Reshape", [b.op("Transpose", [r], { perm: [2, 1, 0] }), b.constant("shp3", int64([4], [O, C, 3, 3]))], {
    outputs: ["dw"],
  });
});
const x = new ort.Tensor(
  "float32",
  Float32Array.from({ length: N * C * H * H }, () => Math.random() - 0.5),
  [N, C, H, H],
);
const dy = new ort.Tensor(
  "float32",
  Float32Array.from({ length: N * O * H * H }, () => Math.random() - 0.5),
  [N, O, H, H],
);
const res: Float32Array[] = [];
for (const [name, m] of [
  ["conv", convWay],
  ["matmul", mmWay],
] as const) {
  const s = await ort.InferenceSession.create(m, { intraOpNumThreads: 2 });
  let out;
  const cpu: number[] = [];
  for (let i = 0; i < 6; i++) {
    const c0 = process.cpuUsage();
    out = await s.run({ x, dy });
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  res.push(out!.dw!.data as Float32Array);
  console.log(name, "cpu ms", cpu.map((v) => v.toFixed(1)).join(" "));
}
let md = 0,
  mx = 0;
for (let i = 0; i < res[0]!.length; i++) {
  md = Math.max(md, Math.abs(res[0]![i]! - res[1]![i]!));
  mx = Math.max(mx, Math.abs(res[0]![i]!));
}
console.log("max diff", md, "max", mx);
