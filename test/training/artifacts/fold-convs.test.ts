import { expect } from "chai";
import { buildArtifacts } from "../../../src/training/artifacts/index.js";
import { float32, int64 } from "../../../src/onnx/tensor.js";
import { expectSameSteps, modelOf, uniformValues } from "./helpers.js";

describe("batch-folded convs (training/artifacts/fold-convs)", () => {
  // x [N,2,4,4] -> conv 3x3 pad 1, 20 filters > 16 pixels (folded) + bias -> Relu -> conv 3x3 s2 pad 1 to 2x2,
  // 12 filters > 4 pixels (folded) -> Relu -> conv 3x3 pad 1 on 2x2, 4 filters <= 4 pixels (kept); beside it
  // conv 3x3 pad 1 on x, 6 filters <= 16 pixels (kept); both flattened, concatenated, Gemm -> logits [N, 3].
  // The Conv rule folds c3's input gradient (a stride-1 Conv, 12 channels > 4 pixels), c2's (a ConvTranspose
  // from 2x2 pixels) and the weight gradients of c1 and c2 (more filters than output pixels, 3x3 kernels); c3's and
  // c4's weight gradients (filters at most the pixels, more than a quarter of them) are one Gemm over columns made
  // by a one-hot 3-D Conv, not folded.
  const r = uniformValues("fold-convs");
  const model = () =>
    modelOf((g) => {
      g.addInput("x", "float32", ["N", 2, 4, 4]);
      g.initializer("w1", float32([20, 2, 3, 3], r(360)));
      g.initializer("b1", float32([20], r(20)));
      g.initializer("w2", float32([12, 20, 3, 3], r(2160, 0.2)));
      g.initializer("w3", float32([4, 12, 3, 3], r(432, 0.2)));
      g.initializer("w4", float32([6, 2, 3, 3], r(108)));
      g.initializer("fc", float32([16 + 96, 3], r(336, 0.2)));
      const h1 = g.op("Relu", [g.op("Conv", ["x", "w1", "b1"], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, "c1")]);
      const h2 = g.op("Conv", [h1, "w2"], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] }, "c2");
      const h3 = g.op("Conv", [g.op("Relu", [h2]), "w3"], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, "c3");
      const h4 = g.op("Conv", ["x", "w4"], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, "c4");
      const flat = (v: string, n: number) => g.op("Reshape", [v, g.constant(`s${n}`, int64([2], [-1, n]))]);
      const both = g.op("Concat", [flat(h3, 16), flat(h4, 96)], { axis: 1 });
      g.node("Gemm", [both, "fc"], { outputs: ["logits"] });
      g.addOutput("logits", "float32", ["N", 3]);
    });

  it("folds the convs with more filters than output pixels and matches the plain form (2 SGD steps)", async () => {
    const m = model();
    const folded = await buildArtifacts(m, { loss: "ce", gradients: true, denseConvs: false });
    const plain = await buildArtifacts(m, { loss: "ce", gradients: true, denseConvs: false, foldConvs: false });
    expect(folded.manifest.foldedConvs).to.deep.equal(["c1", "c2"]);
    expect(plain.manifest.foldedConvs).to.deep.equal([]);
    const rank = (n: { attribute: { name: string; ints: bigint[] }[] }) =>
      n.attribute.find((a) => a.name === "kernel_shape")?.ints.length;
    const forward3d = folded.trainStep.graph!.node.filter((n) => n.opType === "Conv" && !n.name.includes("/grad/"));
    expect(forward3d.filter((n) => rank(n) === 3).map((n) => n.name)).to.deep.equal([
      "c1/folded/Conv",
      "c2/folded/Conv",
    ]);
    const grad3d = folded.trainStep.graph!.node.filter((n) => n.name.includes("/grad/") && rank(n) === 3);
    expect(grad3d.map((n) => `${n.name.split("/")[0]} ${n.opType}`).sort()).to.deep.equal([
      "c1 Conv",
      "c2 Conv",
      "c2 ConvTranspose",
      "c3 Conv",
      "c3 Conv",
      "c4 Conv",
    ]);

    const feeds = { batch: float32([5, 2, 4, 4], r(160, 1)), targets: int64([5], [0, 1, 2, 1, 0]), lr: 0.1 };
    await expectSameSteps(folded, plain, feeds);
  });
});
