import { expect } from "chai";
import { buildArtifacts } from "../../../src/training/artifacts/index.js";
import { float32, int64 } from "../../../src/onnx/tensor.js";
import { expectSameSteps, modelOf, uniformValues } from "./helpers.js";

describe("dense convs on tiny maps (training/artifacts/dense-convs)", () => {
  // x [N,3,2,2] -> conv 3x3 pad 1 + bias (2x2, dense) -> Relu -> conv 3x3 s2 pad 1 (-> 1x1, dense)
  // -> conv 1x1 group 2 (kept) -> conv 3x3 dilation 2 pad 2 on 1x1 (dense) -> logits [N,4]
  const r = uniformValues("dense-convs");
  const model = () =>
    modelOf((g) => {
      g.addInput("x", "float32", ["N", 3, 2, 2]);
      g.initializer("w1", float32([4, 3, 3, 3], r(108)));
      g.initializer("b1", float32([4], r(4)));
      g.initializer("w2", float32([4, 4, 3, 3], r(144)));
      g.initializer("w3", float32([4, 2, 1, 1], r(8)));
      g.initializer("w4", float32([4, 4, 3, 3], r(144)));
      g.initializer("b4", float32([4], r(4)));
      const h1 = g.op("Relu", [g.op("Conv", ["x", "w1", "b1"], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, "c1")]);
      const h2 = g.op("Conv", [h1, "w2"], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] }, "c2");
      const h3 = g.op("Conv", [h2, "w3"], { kernel_shape: [1, 1], group: 2 }, "c3");
      const h4 = g.op("Conv", [h3, "w4", "b4"], { kernel_shape: [3, 3], pads: [2, 2, 2, 2], dilations: [2, 2] }, "c4");
      g.node("Reshape", [h4, g.constant("shape", int64([2], [-1, 4]))], { outputs: ["logits"] });
      g.addOutput("logits", "float32", ["N", 4]);
    });

  it("rewrites the eligible convs and gives the Conv form's loss, gradients and updates (2 SGD steps)", async () => {
    const m = model();
    const dense = await buildArtifacts(m, { loss: "ce", gradients: true });
    const plain = await buildArtifacts(m, { loss: "ce", gradients: true, denseConvs: false });
    expect(dense.manifest.denseConvs).to.deep.equal(["c1", "c2", "c4"]);
    expect(plain.manifest.denseConvs).to.deep.equal([]);
    expect(
      dense.trainStep.graph!.node.filter((n) => n.opType === "Conv" && !n.name.includes("/grad/")).map((n) => n.name),
    ).to.deep.equal(["c3"]);
    const feeds = { batch: float32([5, 3, 2, 2], r(60, 1)), targets: int64([5], [0, 1, 2, 3, 1]), lr: 0.1 };
    await expectSameSteps(dense, plain, feeds);
  });
});
