// Experiment behind docs/PERFORMANCE.md "Conv backward, CPU": per conv shape of the zoo's ResNets, the
// Conv rule's dX (ConvTranspose) and dW (Conv of X^T by dY^T) against alternatives made of standard ops:
//   dX "flip": Conv(dY, W transposed and flipped), stride 1 only; dW "gemm": the k*k shifted (strided) slices
//   of the padded X^T concatenated to [C*k*k, N*Ho*Wo], then one Gemm with dY^T as [O, N*Ho*Wo] (1x1: no slices);
//   dW "gather", "bmm", "bmmrt": other im2col forms (below); forward Y: Conv with W as an input vs im2col GEMMs;
//   dX "scatter" (strided): columns by a MatMul, col2im by a MatMul with a 0/1 matrix.
// Alternating runs in one process, 2 threads, spinning off; wall ms median; max |difference| to the first form.
// usage: [ONLY=Y|dX|dW] npx tsx scripts/perf/conv-backward.ts [resnet18w8|resnet18] [batch] [rounds]
import * as ort from "onnxruntime-node";
import { tapMatrix } from "../../src/autograd/index.js";
import { GraphBuilder } from "../../src/onnx/builder.js";
import { newGraph, newModel, newOpset, encodeModel } from "../../src/onnx/proto.js";
import { int64 } from "../../src/onnx/tensor.js";

interface Shape {
  name: string;
  c: number;
  o: number;
  h: number;
  k: number;
  s: number;
  p: number;
  count: number;
}
const model = process.argv[2] ?? "resnet18w8";
const N = Number(process.argv[3] ?? 64);
const rounds = Number(process.argv[4] ?? 7);
const w = model === "resnet18" ? 64 : 8;
const [c0, h0] = model === "resnet18" ? [3, 32] : [1, 28];
// resnet18w8 has the zoo's "small" stem (3x3 s1, no pool), resnet18 torchvision's (7x7 s2 + 3x3 s2 pool).
const shapes: Shape[] =
  model === "resnet18"
    ? [{ name: "stem 7x7 s2", c: c0, o: w, h: h0, k: 7, s: 2, p: 3, count: 1 }]
    : [{ name: "stem 3x3 s1", c: c0, o: w, h: h0, k: 3, s: 1, p: 1, count: 1 }];
let h = model === "resnet18" ? Math.floor((Math.floor((h0 + 6 - 7) / 2) + 1 + 2 - 3) / 2) + 1 : h0;
for (let st = 1; st <= 4; st++) {
  const c = w * 2 ** (st - 1);
  if (st === 1) {
    shapes.push({ name: `l1 3x3 s1 ${c}@${h}`, c, o: c, h, k: 3, s: 1, p: 1, count: 4 });
    continue;
  }
  const ho = Math.floor((h + 2 - 3) / 2) + 1;
  shapes.push({ name: `l${st} 3x3 s2 ${c / 2}->${c}@${h}`, c: c / 2, o: c, h, k: 3, s: 2, p: 1, count: 1 });
  shapes.push({ name: `l${st} 1x1 s2 ${c / 2}->${c}@${h}`, c: c / 2, o: c, h, k: 1, s: 2, p: 0, count: 1 });
  shapes.push({ name: `l${st} 3x3 s1 ${c}@${ho}`, c, o: c, h: ho, k: 3, s: 1, p: 1, count: 3 });
  h = ho;
}

const perm = [1, 0, 2, 3];
const c = (b: GraphBuilder, v: number[]) => b.constant("c", int64([v.length], v));
function model1(sh: Shape, ho: number, body: (b: GraphBuilder) => void, out: number[]): Uint8Array {
  const g = newGraph({ name: "g" });
  const b = new GraphBuilder(g);
  b.addInput("x", "float32", [N, sh.c, sh.h, sh.h]);
  b.addInput("w", "float32", [sh.o, sh.c, sh.k, sh.k]);
  b.addInput("dy", "float32", [N, sh.o, ho, ho]);
  body(b);
  b.addOutput("r", "float32", out);
  return encodeModel(newModel({ irVersion: 8n, opsetImport: [newOpset("", 17)], graph: g }));
}

function variants(sh: Shape) {
  const ho = Math.floor((sh.h + 2 * sh.p - sh.k) / sh.s) + 1;
  const full = sh.s * (ho - 1) + sh.k;
  const crop = full - sh.p - sh.h;
  const ctAttrs = {
    kernel_shape: [sh.k, sh.k],
    strides: [sh.s, sh.s],
    pads: [sh.p, sh.p, Math.max(0, crop), Math.max(0, crop)],
    output_padding: [Math.max(0, -crop), Math.max(0, -crop)],
  };
  const dx: Record<string, Uint8Array> = {
    ct: model1(sh, ho, (b) => b.node("ConvTranspose", ["dy", "w"], { outputs: ["r"], attrs: ctAttrs }), [
      N,
      sh.c,
      sh.h,
      sh.h,
    ]),
  };
  // the batch folded into a depth axis: [N, C, H, W] -> [1, C, N, H, W], one 3-D op with a depth-1 kernel, so
  // onnxruntime sees one image of N*H*W pixels (one GEMM split across threads) instead of N small ones
  const toDepth = (b: GraphBuilder, v: string) => b.op("Transpose", [v], { perm: [1, 0, 2, 3] });
  const fromDepth = (b: GraphBuilder, v: string, out: string) =>
    b.node("Transpose", [b.op("Squeeze", [v, c(b, [0])])], { outputs: [out], attrs: { perm: [1, 0, 2, 3] } });
  const w3 = (b: GraphBuilder, v: string) => b.op("Unsqueeze", [v, c(b, [2])]);
  // W transposed to [C, O, k, k] and flipped: the kernel of the stride-1 input gradient as a Conv
  const flipped = (b: GraphBuilder) =>
    b.op("Slice", [
      b.op("Transpose", ["w"], { perm }),
      c(b, [-1, -1]),
      c(b, [-(2 ** 62), -(2 ** 62)]),
      c(b, [2, 3]),
      c(b, [-1, -1]),
    ]);
  const d5 = (b: GraphBuilder, v: string) => b.op("Unsqueeze", [toDepth(b, v), c(b, [0])]);
  dx.ctdepth = model1(
    sh,
    ho,
    (b) =>
      fromDepth(
        b,
        b.op("ConvTranspose", [d5(b, "dy"), w3(b, "w")], {
          kernel_shape: [1, sh.k, sh.k],
          strides: [1, sh.s, sh.s],
          pads: [0, sh.p, sh.p, 0, Math.max(0, crop), Math.max(0, crop)],
          output_padding: [0, Math.max(0, -crop), Math.max(0, -crop)],
        }),
        "r",
      ),
    [N, sh.c, sh.h, sh.h],
  );
  if (sh.s > 1) {
    // columns [N, C*k*k, Ho*Wo] by one MatMul with W^T broadcast over N, then col2im as a MatMul of the columns as
    // [N*C, k*k*Ho*Wo] by the constant 0/1 matrix that sends each (tap, dY pixel) to the X pixel it read
    dx.scatter = model1(
      sh,
      ho,
      (b) => {
        const [taps, l, hw] = [sh.k * sh.k, ho * ho, sh.h * sh.h];
        // Transpose then Reshape, as the Conv rule does: a Transpose straight into the MatMul would be fused (transA)
        const wT = b.op("Reshape", [b.op("Transpose", ["w"], { perm: [1, 2, 3, 0] }), c(b, [-1, sh.o])]);
        const cols = b.op("MatMul", [wT, b.op("Reshape", ["dy", c(b, [N, sh.o, -1])])]);
        const two = (v: number) => [v, v];
        const m = tapMatrix(
          {
            kernel: two(sh.k),
            strides: two(sh.s),
            dilations: two(1),
            padsBegin: two(sh.p),
            padsEnd: two(sh.p),
            input: two(sh.h),
            output: two(ho),
          },
          "tap",
        );
        const scatter = b.constant("scatter", { dtype: "float32", dims: [taps * l, hw], data: m });
        const r = b.op("MatMul", [b.op("Reshape", [cols, c(b, [N * sh.c, taps * l])]), scatter]);
        b.node("Reshape", [r, c(b, [N, sh.c, sh.h, sh.h])], { outputs: ["r"] });
      },
      [N, sh.c, sh.h, sh.h],
    );
  }
  if (sh.s === 1) {
    dx.flipdepth = model1(
      sh,
      ho,
      (b) => {
        const q = sh.k - 1 - sh.p;
        const y = b.op("Conv", [d5(b, "dy"), w3(b, flipped(b))], {
          kernel_shape: [1, sh.k, sh.k],
          pads: [0, q, q, 0, q, q],
        });
        fromDepth(b, y, "r");
      },
      [N, sh.c, sh.h, sh.h],
    );
    dx.flip = model1(
      sh,
      ho,
      (b) => {
        const q = sh.k - 1 - sh.p;
        b.node("Conv", ["dy", flipped(b)], {
          outputs: ["r"],
          attrs: { kernel_shape: [sh.k, sh.k], pads: [q, q, q, q] },
        });
      },
      [N, sh.c, sh.h, sh.h],
    );
  }
  // im2col [N, C*k*k, Ho*Wo] by a one-hot Conv: over X as [N*C, 1, H, W] (a constant kernel, or one made a
  // runtime value), or grouped over X itself (group C)
  const oneHotCols = (b: GraphBuilder, kind: "constant" | "runtime" | "grouped") => {
    const T = sh.k * sh.k;
    const groups = kind === "grouped" ? sh.c : 1;
    const eye = new Float32Array(groups * T * T);
    for (let g = 0; g < groups; g++) for (let t = 0; t < T; t++) eye[(g * T + t) * T + t] = 1;
    const constant = b.constant("eye", { dtype: "float32", dims: [groups * T, 1, sh.k, sh.k], data: eye });
    const onehot =
      kind === "runtime"
        ? b.op("Mul", [constant, b.op("ReduceMax", [b.op("Abs", [b.op("Sign", ["x"])])], { keepdims: 0 })])
        : constant;
    const xr = kind === "grouped" ? "x" : b.op("Reshape", ["x", c(b, [-1, 1, sh.h, sh.h])]);
    return b.op("Reshape", [
      b.op("Conv", [xr, onehot], {
        kernel_shape: [sh.k, sh.k],
        strides: [sh.s, sh.s],
        pads: [sh.p, sh.p, sh.p, sh.p],
        group: groups,
      }),
      c(b, [N, sh.c * T, -1]),
    ]);
  };
  const bmmBody = (b: GraphBuilder, kind: "constant" | "runtime" | "grouped") => {
    const cols = oneHotCols(b, kind);
    const dyt = b.op("Reshape", [b.op("Transpose", ["dy"], { perm: [0, 2, 3, 1] }), c(b, [N, -1, sh.o])]);
    const r = b.op("ReduceSum", [b.op("MatMul", [cols, dyt]), c(b, [0])], { keepdims: 0 });
    b.node("Reshape", [b.op("Transpose", [r], { perm: [1, 0] }), c(b, [sh.o, sh.c, sh.k, sh.k])], { outputs: ["r"] });
  };
  const padsEnd = Math.max(0, sh.s * (ho - 1) + sh.k - sh.h - sh.p);
  const dw: Record<string, Uint8Array> = {
    conv: model1(
      sh,
      ho,
      (b) => {
        const xT = b.op("Transpose", ["x"], { perm });
        const dyT = b.op("Transpose", ["dy"], { perm });
        let r = b.op("Conv", [xT, dyT], {
          kernel_shape: [ho, ho],
          strides: [1, 1],
          dilations: [sh.s, sh.s],
          pads: [sh.p, sh.p, padsEnd, padsEnd],
        });
        const got = sh.h + sh.p + padsEnd - ((ho - 1) * sh.s + 1) + 1;
        if (got !== sh.k) r = b.op("Slice", [r, c(b, [0, 0]), c(b, [sh.k, sh.k]), c(b, [2, 3])]);
        b.node("Transpose", [r], { outputs: ["r"], attrs: { perm } });
      },
      [sh.o, sh.c, sh.k, sh.k],
    ),
    // the Conv form batch-folded (batch-fold.ts): X itself as one image [1, N, C, H, W] (samples as channels,
    // channels as depth), dY^T [O, N, 1, Ho, Wo] as the kernel: one GEMM over N*Ho*Wo
    convdepth: model1(
      sh,
      ho,
      (b) => {
        const dyT = b.op("Unsqueeze", [b.op("Transpose", ["dy"], { perm }), c(b, [2])]);
        let r = b.op("Squeeze", [
          b.op("Conv", [b.op("Unsqueeze", ["x", c(b, [0])]), dyT], {
            kernel_shape: [1, ho, ho],
            strides: [1, 1, 1],
            dilations: [1, sh.s, sh.s],
            pads: [0, sh.p, sh.p, 0, padsEnd, padsEnd],
          }),
          c(b, [0]),
        ]);
        const got = sh.h + sh.p + padsEnd - ((ho - 1) * sh.s + 1) + 1;
        if (got !== sh.k) r = b.op("Slice", [r, c(b, [0, 0]), c(b, [sh.k, sh.k]), c(b, [2, 3])]);
        b.node("Identity", [r], { outputs: ["r"] });
      },
      [sh.o, sh.c, sh.k, sh.k],
    ),
    gemm: model1(
      sh,
      ho,
      (b) => {
        const xT = b.op("Transpose", ["x"], { perm });
        const dyT = b.op("Reshape", [b.op("Transpose", ["dy"], { perm }), c(b, [sh.o, -1])]);
        const xp = sh.p > 0 ? b.op("Pad", [xT, c(b, [0, 0, sh.p, sh.p, 0, 0, sh.p, sh.p])]) : xT;
        let cols: string;
        if (sh.k === 1 && sh.s === 1) cols = xp;
        else {
          const taps: string[] = [];
          for (let ky = 0; ky < sh.k; ky++)
            for (let kx = 0; kx < sh.k; kx++) {
              const s = b.op("Slice", [
                xp,
                c(b, [ky, kx]),
                c(b, [ky + sh.s * (ho - 1) + 1, kx + sh.s * (ho - 1) + 1]),
                c(b, [2, 3]),
                c(b, [sh.s, sh.s]),
              ]);
              taps.push(sh.k === 1 ? s : b.op("Unsqueeze", [s, c(b, [1])]));
            }
          cols = taps.length === 1 ? taps[0]! : b.op("Concat", taps, { axis: 1 });
        }
        const r = b.op("Gemm", [dyT, b.op("Reshape", [cols, c(b, [sh.c * sh.k * sh.k, -1])])], { transB: 1 });
        b.node("Reshape", [r, c(b, [sh.o, sh.c, sh.k, sh.k])], { outputs: ["r"] });
      },
      [sh.o, sh.c, sh.k, sh.k],
    ),
    // im2col by one Gather over the flattened padded X (indices of the k*k taps of every output pixel),
    // then per-sample MatMul with dY^T and ReduceSum over N.
    gather: model1(
      sh,
      ho,
      (b) => {
        const hp = sh.h + 2 * sh.p;
        const idx: number[] = [];
        for (let ky = 0; ky < sh.k; ky++)
          for (let kx = 0; kx < sh.k; kx++)
            for (let y = 0; y < ho; y++) for (let x = 0; x < ho; x++) idx.push((y * sh.s + ky) * hp + x * sh.s + kx);
        const xp = sh.p > 0 ? b.op("Pad", ["x", c(b, [0, 0, sh.p, sh.p, 0, 0, sh.p, sh.p])]) : "x";
        const flat = b.op("Reshape", [xp, c(b, [N, sh.c, -1])]);
        const cols = b.op("Reshape", [
          b.op(
            "Gather",
            [
              flat,
              b.constant("idx", { dtype: "int64", dims: [idx.length], data: BigInt64Array.from(idx.map(BigInt)) }),
            ],
            { axis: 2 },
          ),
          c(b, [N, sh.c * sh.k * sh.k, -1]),
        ]);
        const dyt = b.op("Transpose", [b.op("Reshape", ["dy", c(b, [N, sh.o, -1])])], { perm: [0, 2, 1] });
        const r = b.op("ReduceSum", [b.op("MatMul", [cols, dyt]), c(b, [0])], { keepdims: 0 });
        b.node("Reshape", [b.op("Transpose", [r], { perm: [1, 0] }), c(b, [sh.o, sh.c, sh.k, sh.k])], {
          outputs: ["r"],
        });
      },
      [sh.o, sh.c, sh.k, sh.k],
    ),
    // im2col by a one-hot Conv over X as [N*C, 1, H, W] -> [N, C*k*k, Ho*Wo], batched MatMul with dY as
    // [N, Ho*Wo, O], ReduceSum over N: no transpose of X, no slices.
    bmm: model1(sh, ho, (b) => bmmBody(b, "constant"), [sh.o, sh.c, sh.k, sh.k]),
    // the same with the one-hot kernel as a runtime value (times max|sign(x)| = 1): onnxruntime cannot pre-pack
    // it (NCHWc with its output reorder), so the im2col Conv runs in plain NCHW
    bmmrt: model1(sh, ho, (b) => bmmBody(b, "runtime"), [sh.o, sh.c, sh.k, sh.k]),
    // the same im2col as one grouped Conv over X (group C, 9 one-hot filters per channel): not pre-packed either
    bmmg: model1(sh, ho, (b) => bmmBody(b, "grouped"), [sh.o, sh.c, sh.k, sh.k]),
  };
  // Forward Y = Conv(X, W) with W a graph input (as in the student): onnxruntime's Conv (per-image im2col +
  // GEMM) against one whole-batch GEMM over the im2col of X^T ("gemm"), and against a batched MatMul over the
  // per-image im2col of X ("bmm", no transposes).
  const tapsOf = (b: GraphBuilder, xp: string, axis: number) => {
    const taps: string[] = [];
    for (let ky = 0; ky < sh.k; ky++)
      for (let kx = 0; kx < sh.k; kx++) {
        const s = b.op("Slice", [
          xp,
          c(b, [ky, kx]),
          c(b, [ky + sh.s * (ho - 1) + 1, kx + sh.s * (ho - 1) + 1]),
          c(b, [2, 3]),
          c(b, [sh.s, sh.s]),
        ]);
        taps.push(b.op("Unsqueeze", [s, c(b, [axis])]));
      }
    return b.op("Concat", taps, { axis });
  };
  const pads8 = [0, 0, sh.p, sh.p, 0, 0, sh.p, sh.p];
  const y: Record<string, Uint8Array> = {
    conv: model1(
      sh,
      ho,
      (b) =>
        b.node("Conv", ["x", "w"], {
          outputs: ["r"],
          attrs: { kernel_shape: [sh.k, sh.k], strides: [sh.s, sh.s], pads: [sh.p, sh.p, sh.p, sh.p] },
        }),
      [N, sh.o, ho, ho],
    ),
    gemm: model1(
      sh,
      ho,
      (b) => {
        const xT = b.op("Transpose", ["x"], { perm });
        const xp = sh.p > 0 ? b.op("Pad", [xT, c(b, pads8)]) : xT;
        const cols = b.op("Reshape", [tapsOf(b, xp, 1), c(b, [sh.c * sh.k * sh.k, -1])]);
        const r = b.op("Gemm", [b.op("Reshape", ["w", c(b, [sh.o, -1])]), cols]);
        b.node("Transpose", [b.op("Reshape", [r, c(b, [sh.o, N, ho, ho])])], { outputs: ["r"], attrs: { perm } });
      },
      [N, sh.o, ho, ho],
    ),
    bmm: model1(
      sh,
      ho,
      (b) => {
        const xp = sh.p > 0 ? b.op("Pad", ["x", c(b, pads8)]) : "x";
        const cols = b.op("Reshape", [tapsOf(b, xp, 2), c(b, [N, sh.c * sh.k * sh.k, -1])]);
        const r = b.op("MatMul", [b.op("Reshape", ["w", c(b, [sh.o, -1])]), cols]);
        b.node("Reshape", [r, c(b, [N, sh.o, ho, ho])], { outputs: ["r"] });
      },
      [N, sh.o, ho, ho],
    ),
  };
  y.depth = model1(
    sh,
    ho,
    (b) => {
      const d5 = b.op("Unsqueeze", [b.op("Transpose", ["x"], { perm }), c(b, [0])]);
      const r = b.op("Conv", [d5, b.op("Unsqueeze", ["w", c(b, [2])])], {
        kernel_shape: [1, sh.k, sh.k],
        strides: [1, sh.s, sh.s],
        pads: [0, sh.p, sh.p, 0, sh.p, sh.p],
      });
      b.node("Transpose", [b.op("Squeeze", [r, c(b, [0])])], { outputs: ["r"], attrs: { perm } });
    },
    [N, sh.o, ho, ho],
  );
  // forward by the grouped one-hot im2col (as in the dW "bmmg" form) and one MatMul with W broadcast over N
  y.bmmg = model1(
    sh,
    ho,
    (b) => {
      const cols = oneHotCols(b, "grouped");
      const r = b.op("MatMul", [b.op("Reshape", ["w", c(b, [sh.o, -1])]), cols]);
      b.node("Reshape", [r, c(b, [N, sh.o, ho, ho])], { outputs: ["r"] });
    },
    [N, sh.o, ho, ho],
  );
  return { ho, dx, dw, y };
}

const rnd = (n: number) => Float32Array.from({ length: n }, () => Math.random() - 0.5);
const opts: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: Number(process.env.THREADS ?? 2),
  interOpNumThreads: 1,
  extra: { session: { intra_op: { allow_spinning: "0" } } },
};
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const total: Record<string, number> = {};
for (const sh of shapes) {
  const v = variants(sh);
  const feeds = {
    x: new ort.Tensor("float32", rnd(N * sh.c * sh.h * sh.h), [N, sh.c, sh.h, sh.h]),
    w: new ort.Tensor("float32", rnd(sh.o * sh.c * sh.k * sh.k), [sh.o, sh.c, sh.k, sh.k]),
    dy: new ort.Tensor("float32", rnd(N * sh.o * v.ho * v.ho), [N, sh.o, v.ho, v.ho]),
  };
  const line: string[] = [];
  const all = [
    ["Y", v.y],
    ["dX", v.dx],
    ["dW", v.dw],
  ] as const;
  const groups = process.env.ONLY ? all.filter(([k]) => k === process.env.ONLY) : all;
  for (const [kind, set] of groups) {
    if (sh.name.startsWith("stem") && kind === "dX") continue;
    const names = Object.keys(set);
    const sessions = await Promise.all(names.map((n) => ort.InferenceSession.create(set[n]!, opts)));
    const times = names.map(() => [] as number[]);
    const outs: Float32Array[] = [];
    for (let r = 0; r < rounds + 1; r++) {
      for (let i = 0; i < names.length; i++) {
        const t = performance.now();
        const out = await sessions[i]!.run(feeds);
        if (r > 0) times[i]!.push(performance.now() - t);
        outs[i] = out.r!.data as Float32Array;
      }
    }
    names.forEach((n, i) => {
      let d = 0;
      for (let j = 0; j < outs[0]!.length; j++) d = Math.max(d, Math.abs(outs[0]![j]! - outs[i]![j]!));
      const m = median(times[i]!);
      total[`${kind} ${n}`] = (total[`${kind} ${n}`] ?? 0) + m * sh.count;
      line.push(`${kind} ${n} ${m.toFixed(2)}${i > 0 ? ` (diff ${d.toExponential(1)})` : ""}`);
    });
  }
  console.log(`${sh.name} x${sh.count}: ${line.join(" | ")}`);
}
console.log(
  "weighted totals (ms per step):",
  Object.entries(total)
    .map(([k, t]) => `${k} ${t.toFixed(1)}`)
    .join(", "),
);
