import { expect } from "chai";
import { backwardOf, initializerDims } from "../../helpers/backward-nodes.js";
import { checkGradient, type GradCheckCase } from "../../helpers/gradcheck.js";
import { asFloat32, float32, readTensor } from "../../../src/onnx/tensor.js";
import type { GraphProto, NodeProto } from "../../../src/onnx/proto.js";

type Case = GradCheckCase & { title: string };

// Conv runs in float32 only in ORT; the helper's float32 tolerance (central difference, step 4e-3) applies.
const conv = (title: string, x: number[], w: number[], attrs: GradCheckCase["attrs"] = {}, bias = false): Case => ({
  title,
  op: "Conv",
  dtype: "float32",
  attrs,
  inputs: [{ dims: x }, { dims: w }, ...(bias ? [{ dims: [w[0]!] }] : [])],
});

const cases: Case[] = [
  conv("3x3, pad 1, bias", [2, 3, 5, 5], [4, 3, 3, 3], { pads: [1, 1, 1, 1] }, true),
  conv("no pads, kernel_shape given", [2, 2, 5, 4], [3, 2, 2, 3], { kernel_shape: [2, 3] }),
  conv("stride 2, even size: a row dropped", [1, 2, 6, 7], [3, 2, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }, true),
  conv("stride 3/2, odd sizes, asymmetric pads", [2, 2, 7, 8], [2, 2, 3, 2], { strides: [3, 2], pads: [0, 1, 2, 0] }),
  conv("stride 3, two rows dropped", [1, 2, 10, 9], [2, 2, 2, 2], { strides: [3, 3] }),
  conv("1x1 stride 2 projection, even size", [2, 4, 8, 8], [3, 4, 1, 1], { strides: [2, 2] }, true),
  conv("7x7 stride 2 pad 3 stem", [1, 3, 11, 12], [4, 3, 7, 7], { strides: [2, 2], pads: [3, 3, 3, 3] }),
  conv("dilation 2", [1, 2, 7, 7], [2, 2, 3, 3], { dilations: [2, 2], pads: [2, 2, 2, 2] }),
  conv("dilation and stride mixed", [1, 2, 9, 8], [2, 2, 2, 3], {
    dilations: [2, 1],
    strides: [2, 3],
    pads: [1, 0, 0, 1],
  }),
  conv("groups 2, stride 2", [2, 4, 5, 5], [6, 2, 3, 3], { group: 2, strides: [2, 2], pads: [1, 1, 1, 1] }, true),
  conv("groups 2, dilation 2, stride 2", [1, 4, 8, 8], [4, 2, 3, 3], { group: 2, dilations: [2, 2], strides: [2, 2] }),
  conv(
    "depthwise 3x3 stride 2 (MobileNet)",
    [2, 3, 6, 6],
    [3, 1, 3, 3],
    { group: 3, strides: [2, 2], pads: [1, 1, 1, 1] },
    true,
  ),
  conv("depthwise, channel multiplier 2", [1, 2, 5, 5], [4, 1, 3, 3], { group: 2, pads: [1, 1, 1, 1] }),
  conv("auto_pad SAME_UPPER stride 2", [1, 2, 7, 6], [3, 2, 3, 3], { auto_pad: "SAME_UPPER", strides: [2, 2] }),
  conv("auto_pad SAME_LOWER, even kernel", [1, 1, 7, 6], [2, 1, 4, 4], { auto_pad: "SAME_LOWER", strides: [2, 1] }),
  conv("auto_pad SAME_UPPER, even kernel, stride 3", [1, 1, 6, 7], [2, 1, 2, 4], {
    auto_pad: "SAME_UPPER",
    strides: [3, 2],
  }),
  conv("auto_pad VALID stride 2", [1, 2, 8, 7], [2, 2, 3, 3], { auto_pad: "VALID", strides: [2, 2] }, true),
  conv("1-D, stride 2", [2, 3, 9], [4, 3, 3], { strides: [2], pads: [1, 1] }, true),
  conv("1x1 stride 1", [2, 3, 4, 5], [4, 3, 1, 1], {}, true),
  conv(
    "3x3 pad 1 on a 1x1 map: only the centre tap reads data",
    [3, 4, 1, 1],
    [2, 4, 3, 3],
    { pads: [1, 1, 1, 1] },
    true,
  ),
  conv("1x1 kernel on a 1x1 map: a dense layer", [3, 5, 1, 1], [2, 5, 1, 1], {}, true),
  conv("3x3 stride 2 pad 1 on 2x2: the first row and column of taps read padding", [2, 3, 2, 2], [4, 3, 3, 3], {
    strides: [2, 2],
    pads: [1, 1, 1, 1],
  }),
  conv("dead taps, dilation 2, asymmetric pads", [1, 2, 2, 3], [3, 2, 3, 3], { dilations: [2, 2], pads: [2, 0, 2, 2] }),
  // batch-folded forms (batch-fold.ts): more input channels than pixels, stride 1 (dX as a folded Conv); more
  // filters than output pixels, stride 2 (dX as a folded ConvTranspose, dW as a folded Conv)
  conv("stride 1, channels > pixels: dX batch-folded", [2, 10, 3, 3], [4, 10, 3, 3], { pads: [1, 1, 1, 1] }, true),
  conv("stride 2, filters > pixels: dX and dW batch-folded", [3, 2, 4, 4], [12, 2, 3, 3], {
    strides: [2, 2],
    pads: [1, 1, 1, 1],
  }),
  // strided onto a small map from at least 16 pixels of dY: dX as columns by a MatMul, then a 0/1 scatter MatMul
  conv("stride 2 onto 8x8: dX scattered", [2, 3, 8, 8], [4, 3, 3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }, true),
  conv("dilation, stride 1/2 and asymmetric pads onto 9x7: dX scattered", [1, 2, 9, 7], [3, 2, 2, 3], {
    dilations: [2, 1],
    strides: [1, 2],
    pads: [1, 0, 0, 1],
  }),
  // stride 1 with the filters more than a quarter of the output pixels (and no more than them): dW as one Gemm over
  // the columns of all samples (a one-hot 3-D Conv over X^T)
  conv("stride 1, 4 * filters > pixels: dW as one Gemm", [3, 3, 4, 4], [6, 3, 3, 3], { pads: [1, 1, 1, 1] }, true),
  conv("stride 1, dilation 2/1 and asymmetric pads: dW as one Gemm", [2, 2, 5, 4], [5, 2, 2, 3], {
    dilations: [2, 1],
    pads: [1, 0, 0, 1],
  }),
  conv("3-D, stride 1", [1, 2, 4, 3, 4], [2, 2, 2, 3, 2], { pads: [1, 1, 0, 0, 1, 1] }),
  conv("3-D", [1, 2, 4, 5, 4], [2, 2, 2, 3, 2], { strides: [2, 1, 2], pads: [0, 1, 1, 0, 1, 0] }),
  {
    title: "weight only (input constant)",
    op: "Conv",
    dtype: "float32",
    attrs: { strides: [2, 2], pads: [1, 1, 1, 1] },
    inputs: [{ dims: [2, 2, 5, 5], constant: true }, { dims: [3, 2, 3, 3] }],
  },
];

/** The constant second operand of the first backward MatMul that has one (the tap-reversal or scatter matrix). */
const matMulConstant = (graph: GraphProto, backward: NodeProto[]) =>
  backward
    .filter((n) => n.opType === "MatMul")
    .map((n) => graph.initializer.find((t) => t.name === n.input[1]))
    .find((t) => t !== undefined);

describe("Conv gradient rule", () => {
  for (const c of cases) it(c.title, () => checkGradient(c));

  it("stride 1: dX flips the kernel by a MatMul with the tap-reversal matrix, not a Slice with step -1", () => {
    const { graph, backward } = backwardOf(
      (g) => {
        g.addInput("x", "float32", [2, 3, 5, 5]);
        g.initializer("w", float32([4, 3, 3, 3], Array<number>(108).fill(0.5)));
        return g.op("ReduceSum", [g.op("Conv", ["x", "w"], { pads: [1, 1, 1, 1] })], { keepdims: 0 });
      },
      ["x"],
    );
    expect(backward.map((n) => n.opType)).to.not.include("Slice");
    const reversal = matMulConstant(graph, backward);
    expect(reversal && initializerDims(graph, reversal.name)).to.deep.equal([9, 9]);
    const values = Array.from(asFloat32(readTensor(reversal!)));
    for (let t = 0; t < 9; t++) expect(values.slice(t * 9, t * 9 + 9).indexOf(1), `row ${t}`).to.equal(8 - t);
    expect(values.filter((v) => v !== 0)).to.have.length(9);
  });

  it("strided onto a small map: dX is a MatMul to columns and a MatMul by the 0/1 scatter matrix, no ConvTranspose", () => {
    const { graph, backward } = backwardOf(
      (g) => {
        g.addInput("x", "float32", [2, 3, 8, 8]);
        g.initializer("w", float32([4, 3, 3, 3], Array<number>(108).fill(0.5)));
        const y = g.op("Conv", ["x", "w"], { strides: [2, 2], pads: [1, 1, 1, 1] });
        return g.op("ReduceSum", [y], { keepdims: 0 });
      },
      ["x"],
    );
    expect(backward.map((n) => n.opType)).to.not.include("ConvTranspose");
    // W^T reaches the first MatMul through a Reshape: straight from a Transpose, onnxruntime would fuse the two
    // and transpose W again for every sample
    const columns = backward.find((n) => n.opType === "MatMul")!;
    expect(backward.find((n) => n.output.includes(columns.input[0]!))?.opType).to.equal("Reshape");
    const scatter = matMulConstant(graph, backward);
    // rows: (tap, dY pixel) = 9 x 16; columns: the 64 pixels of x
    expect(scatter && initializerDims(graph, scatter.name)).to.deep.equal([144, 64]);
    const values = Array.from(asFloat32(readTensor(scatter!)));
    const target = (t: number, p: number) => values.slice((t * 16 + p) * 64, (t * 16 + p + 1) * 64).indexOf(1);
    // the centre tap of dY pixel (1, 2) reads x pixel (2, 4); tap (0, 0) of dY pixel (0, 0) reads padding
    expect(target(4, 6)).to.equal(2 * 8 + 4);
    expect(target(0, 0)).to.equal(-1);
    expect(target(8, 15)).to.equal(7 * 8 + 7);
    // one 1 per (tap, dY pixel) that reads x, none for those reading the top or left padding
    const reading = (k: number) => [0, 1, 2, 3].filter((p) => 2 * p - 1 + k >= 0).length;
    let expected = 0;
    for (let t = 0; t < 9; t++) expected += reading(Math.floor(t / 3)) * reading(t % 3);
    expect(values.filter((v) => v !== 0)).to.have.length(expected);
  });

  /** The backward of a 3x3 pad-1 conv of x [2, cIn, size, size] by `filters` filters, for dW. */
  const weightGradOf = (cIn: number, filters: number, size: number) =>
    backwardOf(
      (g) => {
        g.addInput("x", "float32", [2, cIn, size, size]);
        g.addInput("w", "float32", [filters, cIn, 3, 3]);
        return g.op("ReduceSum", [g.op("Conv", ["x", "w"], { pads: [1, 1, 1, 1] })], { keepdims: 0 });
      },
      ["w"],
    );

  it("stride 1, 4 * filters > pixels: dW is one Gemm over all samples' columns from a one-hot 3-D Conv", () => {
    const { graph, backward } = weightGradOf(3, 6, 4);
    const columns = backward.filter((n) => n.opType === "Conv");
    expect(columns).to.have.length(1);
    expect(initializerDims(graph, columns[0]!.input[1]!)).to.deep.equal([9, 1, 1, 3, 3]);
    const kernel = Array.from(asFloat32(readTensor(graph.initializer.find((t) => t.name === columns[0]!.input[1])!)));
    for (let t = 0; t < 9; t++) expect(kernel.slice(t * 9, t * 9 + 9).indexOf(1), `filter ${t}`).to.equal(t);
    expect(kernel.filter((v) => v !== 0)).to.have.length(9);
    expect(backward.map((n) => n.opType))
      .to.include("Gemm")
      .and.not.include("ReduceSum");
  });

  it("stride 1, filters at most a quarter of the pixels: dW stays per sample (grouped one-hot Conv, summed over N)", () => {
    const { graph, backward } = weightGradOf(3, 4, 4);
    const columns = backward.filter((n) => n.opType === "Conv");
    expect(columns).to.have.length(1);
    expect(initializerDims(graph, columns[0]!.input[1]!)).to.deep.equal([27, 1, 3, 3]);
    expect(backward.map((n) => n.opType))
      .to.include("ReduceSum")
      .and.not.include("Gemm");
  });

  describe("bad call", () => {
    it("names the node when the spatial shape is unknown", async () => {
      const err = await checkGradient({ ...cases[2]!, shapes: "runtime" }).catch((e: Error) => e);
      expect(err).to.be.instanceOf(Error);
      expect((err as Error).name).to.equal("UserError");
      expect((err as Error).message).to.match(/node 'conv' \(Conv, opset 17\).*static dims/);
    });
  });
});
