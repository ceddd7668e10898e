import { expect } from "chai";
import { buildArtifacts } from "../../../src/training/artifacts/index.js";
import { float32, int64 } from "../../../src/onnx/tensor.js";
import { expectSameSteps, modelOf, uniformValues } from "./helpers.js";

describe("forward convs from the weight gradient's columns (training/artifacts/shared-im2col)", () => {
  // x [N,3,8,8] -> s: conv 3x3 stride 2 pad 1 to 4x4, 6 filters <= 16 pixels (dW from im2col columns: shared)
  // -> Relu -> t: conv 3x3 pad 1, 5 filters (stride 1: kept); beside them b: the same window as s with a bias
  // (kept) and u: conv 5x5 stride 2 pad 2, 20 filters > 16 pixels (dW not from columns: kept).
  const r = uniformValues("shared-im2col");
  const model = () =>
    modelOf((g) => {
      g.addInput("x", "float32", ["N", 3, 8, 8]);
      g.initializer("ws", float32([6, 3, 3, 3], r(162)));
      g.initializer("wt", float32([5, 6, 3, 3], r(270, 0.2)));
      g.initializer("wb", float32([4, 3, 3, 3], r(108)));
      g.initializer("bb", float32([4], r(4)));
      g.initializer("wu", float32([20, 3, 5, 5], r(1500, 0.2)));
      g.initializer("fc", float32([80 + 64 + 320, 3], r(1392, 0.2)));
      const window = { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] };
      const s = g.op("Relu", [g.op("Conv", ["x", "ws"], window, "s")]);
      const t = g.op("Conv", [s, "wt"], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, "t");
      const b = g.op("Conv", ["x", "wb", "bb"], window, "b");
      const u = g.op("Conv", ["x", "wu"], { kernel_shape: [5, 5], pads: [2, 2, 2, 2], strides: [2, 2] }, "u");
      const flat = (v: string, n: number) => g.op("Reshape", [v, g.constant(`s${n}`, int64([2], [-1, n]))]);
      const all = g.op("Concat", [flat(t, 80), flat(b, 64), flat(u, 320)], { axis: 1 });
      g.node("Gemm", [all, "fc"], { outputs: ["logits"] });
      g.addOutput("logits", "float32", ["N", 3]);
    });

  it("computes the strided conv's forward as a MatMul over its im2col columns, with the same steps", async () => {
    const m = model();
    const opts = { loss: "ce", gradients: true, denseConvs: false, foldConvs: false } as const;
    const shared = await buildArtifacts(m, opts);
    const plain = await buildArtifacts(m, { ...opts, sharedIm2col: false });
    expect(shared.manifest.sharedIm2col).to.deep.equal(["s"]);
    expect(plain.manifest.sharedIm2col).to.deep.equal([]);

    const nodes = shared.trainStep.graph!.node;
    const convs = nodes.filter((n) => n.opType === "Conv" && !n.name.includes("/grad/")).map((n) => n.name);
    expect(convs.sort()).to.deep.equal(["b", "t", "u"]);
    // The MatMul reads the columns of a gradient's one-hot Conv over x (one filter per channel and tap; s's and
    // b's are the same node after common-subexpression elimination): no other Conv reads x with that window.
    const matMul = nodes.find((n) => n.name === "s/im2col/MatMul")!;
    const reshaped = nodes.find((n) => n.output[0] === matMul.input[1])!;
    const columns = nodes.find((n) => n.output[0] === reshaped.input[0])!;
    const group = (n: (typeof nodes)[number]) => Number(n.attribute.find((a) => a.name === "group")?.i ?? 1);
    expect([columns.opType, columns.input[0], columns.name.includes("/grad/"), group(columns)]).to.deep.equal([
      "Conv",
      "x",
      true,
      3,
    ]);
    expect(nodes.filter((n) => n.opType === "Conv" && n.input[0] === "x" && group(n) === 3)).to.have.length(1);

    const feeds = { batch: float32([5, 3, 8, 8], r(960, 1)), targets: int64([5], [0, 1, 2, 1, 0]), lr: 0.1 };
    await expectSameSteps(shared, plain, feeds);
  });
});
