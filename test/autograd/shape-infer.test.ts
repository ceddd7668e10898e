/** The engine's static shape inference against the shapes onnxruntime computes, op by op. */
import { expect } from "chai";
import * as ort from "onnxruntime-node";
import { inferShapes, inferValue } from "../../src/autograd/ops.js";
import { makeAttributes, type Attrs } from "../../src/onnx/attributes.js";
import type { Dims } from "../../src/onnx/graph-view.js";
import { encodeModel, newGraph, newModel, newNode, newOpset, newTensorValueInfo } from "../../src/onnx/proto.js";
import { int64, makeTensorProto, onnxFromDtype, type Tensor } from "../../src/onnx/tensor.js";

interface Case {
  op: string;
  attrs?: Attrs;
  opset?: number;
  x: number[];
  w?: number[];
  consts?: (Tensor | undefined)[];
  outputs?: number;
}

const ints = (v: number[]) => int64([v.length], v);
const cases: (Case & { title: string })[] = [
  {
    title: "Conv pads/strides/dilations",
    op: "Conv",
    attrs: { pads: [1, 0, 2, 1], strides: [2, 3], dilations: [1, 2] },
    x: [1, 2, 9, 10],
    w: [4, 2, 3, 3],
  },
  {
    title: "Conv auto_pad SAME_UPPER stride 2",
    op: "Conv",
    attrs: { auto_pad: "SAME_UPPER", strides: [2, 2] },
    x: [1, 2, 7, 8],
    w: [3, 2, 3, 3],
  },
  { title: "Conv depthwise", op: "Conv", attrs: { group: 4, pads: [1, 1, 1, 1] }, x: [2, 4, 5, 5], w: [4, 1, 3, 3] },
  {
    title: "MaxPool ceil_mode",
    op: "MaxPool",
    attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 },
    x: [1, 1, 8, 8],
  },
  {
    title: "MaxPool ceil_mode, pads",
    op: "MaxPool",
    attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 },
    x: [1, 1, 7, 6],
  },
  { title: "AveragePool", op: "AveragePool", attrs: { kernel_shape: [2, 2], strides: [2, 2] }, x: [1, 3, 5, 4] },
  { title: "GlobalAveragePool", op: "GlobalAveragePool", x: [2, 3, 5, 4] },
  { title: "Gemm transB", op: "Gemm", attrs: { transB: 1 }, x: [2, 4], w: [3, 4] },
  { title: "MatMul batch broadcast", op: "MatMul", x: [2, 1, 3, 4], w: [5, 4, 6] },
  { title: "Flatten axis 2", op: "Flatten", attrs: { axis: 2 }, x: [2, 3, 4, 5] },
  { title: "Reshape 0 and -1", op: "Reshape", x: [2, 3, 4], consts: [ints([0, -1, 2])] },
  { title: "Transpose", op: "Transpose", attrs: { perm: [2, 0, 1] }, x: [2, 3, 4] },
  { title: "ReduceMean keepdims 0", op: "ReduceMean", attrs: { axes: [1, -1], keepdims: 0 }, x: [2, 3, 4, 5] },
  { title: "ReduceSum axes input", op: "ReduceSum", opset: 13, x: [2, 3, 4], consts: [ints([1])] },
  { title: "Unsqueeze negative axes", op: "Unsqueeze", opset: 13, x: [2, 3], consts: [ints([-1, 0])] },
  {
    title: "Gather 2-D indices axis 1",
    op: "Gather",
    attrs: { axis: 1 },
    x: [2, 5, 3],
    consts: [int64([2, 2], [0, 1, 2, 3])],
  },
  { title: "Slice negative step", op: "Slice", x: [7, 4], consts: [ints([-2]), ints([-1000]), ints([0]), ints([-3])] },
  { title: "Slice clamped", op: "Slice", x: [7, 4], consts: [ints([1, -3]), ints([1000, 3]), ints([0, 1])] },
  {
    title: "Split num_outputs (uneven)",
    op: "Split",
    opset: 18,
    attrs: { axis: 1, num_outputs: 3 },
    x: [2, 7],
    outputs: 3,
  },
  { title: "Concat", op: "Concat", attrs: { axis: 1 }, x: [2, 3], w: [2, 5] },
];

async function ortShapes(c: Case): Promise<Dims[]> {
  const inputs = ["x", ...(c.w ? ["w"] : []), ...(c.consts ?? []).map((_, i) => `c${i}`)];
  const outputs = Array.from({ length: c.outputs ?? 1 }, (_, k) => `y${k}`);
  const graph = newGraph({
    name: "t",
    node: [newNode({ opType: c.op, input: inputs, output: outputs, attribute: makeAttributes(c.attrs) })],
    input: [
      newTensorValueInfo("x", onnxFromDtype("float32"), c.x),
      ...(c.w ? [newTensorValueInfo("w", onnxFromDtype("float32"), c.w)] : []),
    ],
    initializer: (c.consts ?? []).map((t, i) => makeTensorProto(`c${i}`, t!)),
    output: outputs.map((o) => newTensorValueInfo(o, onnxFromDtype("float32"))),
  });
  const s = await ort.InferenceSession.create(
    encodeModel(newModel({ irVersion: 9n, opsetImport: [newOpset("", c.opset ?? 17)], graph })),
    { logSeverityLevel: 3 },
  );
  const feed = (d: number[]) => new ort.Tensor("float32", new Float32Array(d.reduce((a, b) => a * b, 1)), d);
  const out = await s.run({ x: feed(c.x), ...(c.w ? { w: feed(c.w) } : {}) });
  return outputs.map((o) => [...out[o]!.dims]);
}

describe("static shape inference", () => {
  for (const c of cases) {
    it(c.title, async () => {
      const inputs = ["x", ...(c.w ? ["w"] : []), ...(c.consts ?? []).map((_, i) => `c${i}`)];
      const node = newNode({
        opType: c.op,
        input: inputs,
        output: Array.from({ length: c.outputs ?? 1 }, (_, k) => `y${k}`),
        attribute: makeAttributes(c.attrs),
      });
      const consts = new Map((c.consts ?? []).map((t, i) => [`c${i}`, t!]));
      const shapes = new Map<string, Dims>([
        ["x", c.x],
        ...(c.w ? [["w", c.w] as [string, Dims]] : []),
        ...[...consts].map(([k, t]) => [k, t.dims] as [string, Dims]),
      ]);
      const got = inferShapes(node, {
        shape: (v) => shapes.get(v),
        constantValue: (v) => consts.get(v),
        opset: c.opset ?? 17,
      });
      expect(got).to.deep.equal(await ortShapes(c));
    });
  }

  it("follows TorchScript shape arithmetic symbolically (Shape -> Gather -> Concat, expand's Where(Equal(-1)))", () => {
    const consts = new Map([
      ["zero", int64([], [0])],
      ["minus1", ints([-1])],
      ["four", ints([4])],
    ]);
    const shapes = new Map<string, Dims>([
      ["x", ["N", 4, 2, 2]],
      ["zero", []],
      ["minus1", [1]],
      ["four", [1]],
    ]);
    const values = new Map<string, Dims>();
    const ctx = {
      shape: (v: string) => shapes.get(v),
      constantValue: (v: string) => consts.get(v),
      value: (v: string) => values.get(v),
      opset: 17,
    };
    const step = (opType: string, input: string[], out: string, attrs?: Attrs) => {
      const n = newNode({ opType, input, output: [out], attribute: makeAttributes(attrs) });
      const v = inferValue(n, ctx);
      if (v) values.set(out, v);
      const d = inferShapes(n, ctx)[0];
      if (d) shapes.set(out, d);
    };
    step("Shape", ["x"], "s");
    step("Gather", ["s", "zero"], "n", { axis: 0 });
    step("Concat", ["n", "minus1", "minus1"], "want", { axis: 0 });
    step("Equal", ["want", "minus1"], "eq");
    step("Where", ["eq", "minus1", "want"], "target");
    step("Concat", ["n", "four", "minus1"], "flat_shape", { axis: 0 });
    step("Reshape", ["x", "flat_shape"], "flat");
    expect(values.get("target")).to.deep.equal(["N", -1, -1]);
    expect(shapes.get("flat")).to.deep.equal(["N", 4, 4]);
  });
});
