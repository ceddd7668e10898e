import { expect } from "chai";
import { MemoryExamples } from "../../src/data/index.js";
import { UserError } from "../../src/errors.js";
import {
  evaluatePerExample,
  exampleStatistics,
  logitScaledConfidence,
  pairwiseSum,
  summarise,
} from "../../src/evaluation/per-example.js";
import type { Tensor } from "../../src/onnx/tensor.js";

/** A "model" whose logits are the image's pixels: examples of shape 1x1xK give their own logits. */
const identity = async (b: Tensor): Promise<Tensor> => ({
  dtype: "float32",
  dims: [b.dims[0], b.dims[3]],
  data: Float32Array.from(b.data as Float32Array),
});

function examplesOf(logits: number[][], labels: number[], ids?: number[]): MemoryExamples {
  const k = logits[0]!.length;
  return new MemoryExamples({
    shape: { channels: 1, height: 1, width: k },
    numClasses: 3,
    pixels: Float32Array.from(logits.flat()),
    ids: Int32Array.from(ids ?? labels.map((_, i) => i)),
    labels: Int32Array.from(labels),
  });
}

describe("evaluation/per-example", () => {
  it("logit-scaled confidence: log(p_y) - log(sum of the other p_j), by hand", () => {
    // z = [2, 1, 0]: p ~ [1, e^-1, e^-2] / S, so conf(y=0) = 0 - log(e^-1 + e^-2) = 1 - log(1 + e^-1)
    expect(logitScaledConfidence([2, 1, 0], 0)).to.be.closeTo(1 - Math.log(1 + Math.exp(-1)), 1e-15);
    expect(logitScaledConfidence([2, 1, 0], 2)).to.be.closeTo(-2 - Math.log(1 + Math.exp(-1)), 1e-15);
    // it is log(p / (1 - p)) of the true class
    const p = 1 / (1 + Math.exp(-0.5) + Math.exp(-3));
    expect(logitScaledConfidence([0.5, 0, -2.5], 0)).to.be.closeTo(Math.log(p / (1 - p)), 1e-13);
    // the 1e-45 guards: a certain prediction is capped at log(1e-45) = -103.6 either way
    expect(logitScaledConfidence([200, 0], 1)).to.be.closeTo(Math.log(1e-45), 1e-12);
    expect(logitScaledConfidence([200, 0], 0)).to.be.closeTo(-Math.log(Math.exp(-200) + 1e-45), 1e-12);
    // shift invariant (z - max(z))
    expect(logitScaledConfidence([1002, 1001, 1000], 0)).to.equal(logitScaledConfidence([2, 1, 0], 0));
  });

  it("cross-entropy and prediction of one row", () => {
    const s = exampleStatistics(Float32Array.from([0.25, 3, -1]), 0);
    const lse = Math.log(Math.exp(0.25) + Math.exp(3) + Math.exp(-1));
    expect(s.predicted).to.equal(1);
    expect(s.loss).to.be.closeTo(lse - 0.25, 1e-14);
    expect(s.confidence).to.equal(logitScaledConfidence([0.25, 3, -1], 0));
  });

  it("sums in numpy's pairwise order (8 accumulators from 8 terms on, the rest added one by one)", () => {
    const terms = (n: number) => Float64Array.from({ length: n }, (_, i) => 1 / (i + 3));
    // np.sum(1 / (np.arange(n) + 3)) with numpy 1.24, n = 10 and 17: the last bits differ from a plain loop
    expect(pairwiseSum(terms(10))).to.equal(1.6032106782106779);
    expect(pairwiseSum(terms(17))).to.equal(2.047739657143682);
    expect(pairwiseSum(Float64Array.from([0.1, 0.2, 0.3]))).to.equal(0.1 + 0.2 + 0.3);
    const big = Float64Array.from({ length: 1000 }, (_, i) => Math.sin(i));
    expect(pairwiseSum(big)).to.be.closeTo(
      big.reduce((x, y) => x + y, 0),
      1e-12,
    );
  });

  it("evaluates every example in order, keeps the logits asked for, and summarises per class", async () => {
    const logits = [
      [3, 0, 0], // label 0, right
      [0, 3, 0], // label 1, right
      [0, 3, 0], // label 0, wrong
      [1, 1, 2], // label 2, right
      [0, 0, 5], // label 1, wrong
    ];
    const labels = [0, 1, 0, 2, 1];
    const r = await evaluatePerExample(identity, examplesOf(logits, labels, [10, 11, 12, 13, 14]), {
      batchSize: 2,
      keepLogits: Int32Array.from([1, 4]),
    });
    expect(r.count).to.equal(5);
    expect(r.numClasses).to.equal(3);
    expect(Array.from(r.predicted)).to.deep.equal([0, 1, 1, 2, 2]);
    logits.forEach((z, i) => {
      expect(r.confidence[i]).to.equal(logitScaledConfidence(z, labels[i]!));
      expect(r.loss[i]).to.be.closeTo(Math.log(z.reduce((s, v) => s + Math.exp(v), 0)) - z[labels[i]!]!, 1e-12);
    });
    expect(Array.from(r.kept.positions)).to.deep.equal([1, 4]);
    expect(Array.from(r.kept.logits)).to.deep.equal([0, 3, 0, 0, 0, 5]);
    const s = summarise(r, 4);
    expect(s.count).to.equal(5);
    expect(s.correct).to.equal(3);
    expect(s.accuracy).to.equal(0.6);
    expect(s.loss).to.be.closeTo(r.loss.reduce((a, b) => a + b, 0) / 5, 1e-15);
    expect(s.perClass).to.deep.equal([
      { count: 2, correct: 1, accuracy: 0.5 },
      { count: 2, correct: 1, accuracy: 0.5 },
      { count: 1, correct: 1, accuracy: 1 },
      { count: 0, correct: 0, accuracy: null },
    ]);
  });

  it("bad model output: non-finite logits, too few classes, a label beyond them (UserError naming the example)", async () => {
    const nan = examplesOf(
      [
        [1, 0, 0],
        [NaN, 0, 0],
      ],
      [0, 1],
      [7, 8],
    );
    const err = await evaluatePerExample(identity, nan, { subject: "m.onnx on the test set" }).catch((e: Error) => e);
    expect(err).to.be.instanceOf(UserError);
    expect((err as Error).message).to.match(/^m\.onnx on the test set: logits of example id 8 are not finite/);
    const two = async (b: Tensor): Promise<Tensor> => ({
      dtype: "float32",
      dims: [b.dims[0], 2],
      data: new Float32Array(b.dims[0] * 2),
    });
    const e2 = await evaluatePerExample(two, examplesOf([[0, 0, 0]], [2])).catch((e: Error) => e);
    expect(e2).to.be.instanceOf(UserError);
    expect((e2 as Error).message).to.match(/example id 0 has label 2, the model has 2 classes/);
  });
});
