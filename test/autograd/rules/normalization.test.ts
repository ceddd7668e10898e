import { expect } from "chai";
import { float } from "../../../src/onnx/attributes.js";
import { float32 } from "../../../src/onnx/tensor.js";
import { backwardOf } from "../../helpers/backward-nodes.js";
import { checkGradient, type GradCheckCase } from "../../helpers/gradcheck.js";

type Case = GradCheckCase & { title: string };

/**
 * BatchNormalization(X, scale, B, mean, var); the running statistics are constants (no gradient). A
 * training-mode node must output the updated running statistics too, and the helper's loss projects every
 * float output; momentum 1 makes those outputs equal to the inputs (new = momentum*old + (1-momentum)*batch),
 * so the loss depends on X through Y alone, which is what the rule differentiates.
 */
const bn = (title: string, x: number[], attrs: GradCheckCase["attrs"], extra: Partial<GradCheckCase> = {}): Case => {
  const c = x[1]!;
  const training = attrs?.["training_mode"] === 1;
  return {
    title,
    op: "BatchNormalization",
    attrs: training ? { ...attrs, momentum: float(1) } : attrs,
    outputs: training ? 3 : 1,
    inputs: [
      { dims: x, range: [-2, 3] },
      { dims: [c], range: [0.5, 1.5] },
      { dims: [c] },
      { dims: [c], constant: true },
      { dims: [c], constant: true, range: [0.5, 1.5] },
    ],
    ...extra,
  };
};

const batchNorms: Case[] = [
  bn("training, NCHW, N=4", [4, 3, 2, 2], { training_mode: 1 }),
  bn("training, float32", [3, 2, 3, 3], { training_mode: 1, epsilon: float(1e-3) }, { dtype: "float32" }),
  bn("training, [N, C] (BatchNorm1d)", [5, 3], { training_mode: 1 }),
  bn("training, [N, C, L]", [2, 3, 5], { training_mode: 1 }),
  bn("training, opset 14", [3, 2, 2, 3], { training_mode: 1 }, { opset: 14 }),
  bn("training, opset 15, scale and B constant", [3, 2, 2, 2], { training_mode: 1 }, { opset: 15 }),
  bn(
    "training, symbolic batch dim (elements per channel from Size)",
    [3, 2, 2, 3],
    { training_mode: 1 },
    { shapes: "symbolic" },
  ),
  bn("training, x constant: only dScale and dB", [4, 2, 3, 2], { training_mode: 1 }),
  bn("inference (running statistics)", [2, 3, 3, 2], {}),
  bn("inference, float32, epsilon", [2, 3, 2, 2], { epsilon: float(1e-3) }, { dtype: "float32" }),
];
// scale and B as constants: only dX is checked (the train step of a model with frozen affine params).
batchNorms[5]!.inputs[1]!.constant = true;
batchNorms[5]!.inputs[2]!.constant = true;
batchNorms[7]!.inputs[0]!.constant = true;
// momentum 0 (the artifacts' form): outputs 1 and 2 are the batch statistics and depend on x, but carry no gradient
const momentumZero = bn("training, momentum 0 (outputs 1 and 2 are the batch statistics)", [3, 4, 2, 3], {
  training_mode: 1,
});
momentumZero.attrs = { training_mode: 1, momentum: float(0) };
momentumZero.lossOutputs = [0]; // outputs 1 and 2 now depend on x, but carry no gradient (as in the train step)
batchNorms.push(momentumZero);

const ln = (
  title: string,
  x: number[],
  axis: number | undefined,
  bias = true,
  extra: Partial<GradCheckCase> = {},
): Case => {
  const rank = x.length;
  const a = axis === undefined ? rank - 1 : axis < 0 ? axis + rank : axis;
  const normShape = x.slice(a);
  return {
    title,
    op: "LayerNormalization",
    attrs: axis === undefined ? {} : { axis },
    inputs: [
      { dims: x, range: [-2, 2] },
      { dims: normShape, range: [0.5, 1.5] },
      ...(bias ? [{ dims: normShape }] : []),
    ],
    ...extra,
  };
};

const layerNorms: Case[] = [
  ln("default axis -1 (transformer tokens)", [2, 3, 4], undefined),
  ln("axis 1, two normalised axes", [2, 3, 4], 1),
  ln("axis -2", [2, 2, 3, 2], -2),
  ln("axis 0, everything normalised", [2, 3], 0),
  ln("no bias", [3, 5], -1, false),
  ln("float32, epsilon", [2, 3, 6], -1, true, { dtype: "float32", attrs: { epsilon: float(1e-3) } }),
];

/** The backward nodes of a training-mode BN over x of `dims` (static), loss ReduceSum(Y). */
function bnBackward(dims: number[]) {
  const c = dims[1]!;
  return backwardOf(
    (g) => {
      g.addInput("x", "float32", dims);
      const stat = (name: string, v: number) => g.initializer(name, float32([c], Array<number>(c).fill(v)));
      const [y] = g.node(
        "BatchNormalization",
        ["x", stat("scale", 1), stat("bias", 0), stat("mean", 0), stat("var", 1)],
        {
          outputs: ["y", "running_mean", "running_var"],
          attrs: { training_mode: 1 },
        },
      );
      return g.op("ReduceSum", [y!], { keepdims: 0 });
    },
    ["x", "scale"],
  );
}

describe("normalization gradient rules", () => {
  describe("BatchNormalization", () => batchNorms.forEach((c) => it(c.title, () => checkGradient(c))));
  it("BatchNormalization: per-channel operands meet small maps expanded to [1, C, H, W], large maps as [1, C, 1, 1]", () => {
    // the spreads: the BN rule's Expands (not the loss seed's, from ReduceSum's rule)
    const perChannelReads = ({ backward }: ReturnType<typeof bnBackward>) => {
      const spread = backward.filter((n) => n.opType === "Expand" && !n.name.startsWith("ReduceSum/"));
      const outputs = new Set(spread.map((n) => n.output[0]!));
      const binary = backward.filter((n) => ["Sub", "Mul"].includes(n.opType) && n.input.some((v) => outputs.has(v)));
      return { expands: spread.length, binary: binary.length };
    };
    const small = perChannelReads(bnBackward([4, 3, 2, 2]));
    expect(small.expands).to.be.at.least(4); // mean, 1/std, the two gradient means, scale
    expect(small.binary).to.be.at.least(5);
    expect(perChannelReads(bnBackward([2, 3, 8, 8])).expands).to.equal(0);
  });
  describe("LayerNormalization", () => layerNorms.forEach((c) => it(c.title, () => checkGradient(c))));

  describe("bad call", () => {
    it("refuses a loss that uses LayerNormalization's Mean/InvStdDev outputs", async () => {
      const err = await checkGradient({ ...layerNorms[0]!, outputs: 3 }).catch((e: Error) => e);
      expect(err).to.be.instanceOf(Error);
      expect((err as Error).name).to.equal("UserError");
      expect((err as Error).message).to.match(/LayerNormalization.*Mean\/InvStdDev/);
    });
  });
});
