import { expect } from "chai";
import seedrandom from "seedrandom";
import { buildArtifacts } from "../../../src/training/artifacts/index.js";
import { tapMatrix } from "../../../src/training/artifacts/dense-convs.js";
import { float32, int64 } from "../../../src/onnx/tensor.js";
import { expectSameSteps, modelOf } from "./helpers.js";

const window = (
  input: number[],
  kernel: number[],
  strides: number[],
  pads: number[],
  output: number[],
  dilations = [1, 1],
) => ({ input, kernel, strides, padsBegin: pads, padsEnd: pads, dilations, output });

/** The taps (row-major) with a 1 for input pixel q and output pixel p, per (q, p). */
function readers(m: Float32Array, taps: number, q: number, p: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < q; i++)
    for (let o = 0; o < p; o++) out.push([...Array(taps).keys()].filter((t) => m[(o * taps + t) * q + i] === 1));
  return out;
}

describe("dense convs on tiny maps (training/artifacts/dense-convs)", () => {
  it("tapMatrix: 3x3 pad 1 on a 1x1 map reads only the centre tap", () => {
    const m = tapMatrix(window([1, 1], [3, 3], [1, 1], [1, 1], [1, 1]));
    expect(Array.from(m)).to.deep.equal([0, 0, 0, 0, 1, 0, 0, 0, 0]);
  });

  it("tapMatrix: 3x3 stride 2 pad 1 from 2x2 to 1x1 reads taps (1,1) (1,2) (2,1) (2,2); stride 1 on 2x2 pairs every pixel", () => {
    expect(readers(tapMatrix(window([2, 2], [3, 3], [2, 2], [1, 1], [1, 1])), 9, 4, 1)).to.deep.equal([
      [4],
      [5],
      [7],
      [8],
    ]);
    // stride 1: input pixel q feeds output pixel p through tap (qy - py + 1, qx - px + 1)
    const r = readers(tapMatrix(window([2, 2], [3, 3], [1, 1], [1, 1], [2, 2])), 9, 4, 4);
    expect(r[0]).to.deep.equal([4]); // q (0,0) -> p (0,0): centre
    expect(r[1]).to.deep.equal([3]); // q (0,0) -> p (0,1): tap (1,0)
    expect(r[3 * 4 + 0]).to.deep.equal([8]); // q (1,1) -> p (0,0): tap (2,2)
    expect(r.every((t) => t.length === 1)).to.equal(true);
  });

  // x [N,3,2,2] -> conv 3x3 pad 1 + bias (2x2, dense) -> Relu -> conv 3x3 s2 pad 1 (-> 1x1, dense)
  // -> conv 1x1 group 2 (kept) -> conv 3x3 dilation 2 pad 2 on 1x1 (dense) -> logits [N,4]
  const rand = seedrandom("dense-convs");
  const r = (n: number, s = 0.5) => Array.from({ length: n }, () => (rand() - 0.5) * 2 * s);
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
