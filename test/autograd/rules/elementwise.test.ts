import { expect } from "chai";
import { float } from "../../../src/onnx/attributes.js";
import { backwardOf, initializerDims } from "../../helpers/backward-nodes.js";
import { checkGradient, type GradCheckCase } from "../../helpers/gradcheck.js";

type Case = GradCheckCase & { title: string };
const pos: [number, number] = [0.5, 2];

const unary: Case[] = [
  { title: "Relu", op: "Relu", inputs: [{ dims: [3, 4] }] },
  { title: "LeakyRelu default alpha", op: "LeakyRelu", inputs: [{ dims: [3, 4] }] },
  { title: "LeakyRelu alpha 0.2", op: "LeakyRelu", attrs: { alpha: float(0.2) }, inputs: [{ dims: [2, 5] }] },
  { title: "Sigmoid", op: "Sigmoid", inputs: [{ dims: [2, 3] }] },
  { title: "Tanh", op: "Tanh", inputs: [{ dims: [2, 3] }] },
  { title: "Sqrt", op: "Sqrt", inputs: [{ dims: [2, 3], range: pos }] },
  { title: "Neg", op: "Neg", inputs: [{ dims: [4] }] },
  { title: "Exp", op: "Exp", inputs: [{ dims: [2, 3] }] },
  { title: "Log", op: "Log", inputs: [{ dims: [2, 3], range: pos }] },
  { title: "Reciprocal", op: "Reciprocal", inputs: [{ dims: [2, 3], range: pos }] },
  { title: "Abs", op: "Abs", inputs: [{ dims: [2, 3] }] },
  { title: "Erf", op: "Erf", dtype: "float32", inputs: [{ dims: [2, 3] }] },
  {
    title: "Gelu none (opset 20)",
    op: "Gelu",
    opset: 20,
    dtype: "float32",
    inputs: [{ dims: [2, 5], range: [-3, 3] }],
  },
  {
    title: "Gelu tanh (opset 20)",
    op: "Gelu",
    opset: 20,
    dtype: "float32",
    attrs: { approximate: "tanh" },
    inputs: [{ dims: [2, 5], range: [-3, 3] }],
  },
  { title: "Identity", op: "Identity", inputs: [{ dims: [2, 3] }] },
  { title: "Cast float->double", op: "Cast", attrs: { to: 11 }, inputs: [{ dims: [2, 3], dtype: "float32" }] },
  { title: "Cast double->double", op: "Cast", attrs: { to: 11 }, inputs: [{ dims: [2, 3] }] },
];

const clip: Case[] = [
  {
    title: "Clip min/max inputs (ReLU6)",
    op: "Clip",
    inputs: [
      { dims: [3, 4], range: [-2, 8] },
      { dims: [], constant: true, values: [0] },
      { dims: [], constant: true, values: [6] },
    ],
  },
  {
    title: "Clip max only",
    op: "Clip",
    inputs: [{ dims: [3, 4] }, { dims: [], omit: true }, { dims: [], constant: true, values: [0.3] }],
  },
  { title: "Clip min only", op: "Clip", inputs: [{ dims: [3, 4] }, { dims: [], constant: true, values: [-0.2] }] },
  { title: "Clip no bounds", op: "Clip", inputs: [{ dims: [3, 4] }] },
  {
    title: "Clip attributes (opset 10)",
    op: "Clip",
    opset: 10,
    dtype: "float32",
    attrs: { min: float(-0.5), max: float(0.5) },
    inputs: [{ dims: [3, 4] }],
  },
];

const binary: Case[] = [
  { title: "Add same shape", op: "Add", inputs: [{ dims: [2, 3] }, { dims: [2, 3] }] },
  { title: "Add broadcast", op: "Add", inputs: [{ dims: [2, 3, 4] }, { dims: [3, 1] }] },
  { title: "Add scalar", op: "Add", inputs: [{ dims: [] }, { dims: [2, 3] }] },
  { title: "Sub broadcast", op: "Sub", inputs: [{ dims: [2, 1, 4] }, { dims: [3, 1] }] },
  { title: "Mul broadcast", op: "Mul", inputs: [{ dims: [2, 1, 4] }, { dims: [3, 1] }] },
  { title: "Mul one side constant", op: "Mul", inputs: [{ dims: [2, 3] }, { dims: [3], constant: true }] },
  { title: "Div broadcast", op: "Div", inputs: [{ dims: [2, 3, 4] }, { dims: [4], range: pos }] },
  { title: "Pow both inputs", op: "Pow", inputs: [{ dims: [2, 3], range: pos }, { dims: [3] }] },
  { title: "Pow integer exponent", op: "Pow", inputs: [{ dims: [2, 3] }, { dims: [], dtype: "int64", values: [3] }] },
  {
    title: "Mul broadcast (opset 11: ReduceSum axes attribute)",
    op: "Mul",
    opset: 11,
    inputs: [{ dims: [2, 1, 4] }, { dims: [3, 1] }],
  },
  { title: "Sum of three", op: "Sum", inputs: [{ dims: [2, 3] }, { dims: [3] }, { dims: [2, 1] }] },
];

const more: Case[] = [
  { title: "Softplus", op: "Softplus", dtype: "float32", inputs: [{ dims: [2, 3], range: [-3, 3] }] },
  {
    title: "Elu alpha 0.5",
    op: "Elu",
    dtype: "float32",
    attrs: { alpha: float(0.5) },
    inputs: [{ dims: [2, 3], range: [-2, 2] }],
  },
  { title: "HardSigmoid", op: "HardSigmoid", dtype: "float32", inputs: [{ dims: [3, 4], range: [-4, 4] }] },
  {
    title: "HardSwish (opset 14)",
    op: "HardSwish",
    opset: 14,
    dtype: "float32",
    inputs: [{ dims: [3, 4], range: [-5, 5] }],
  },
  { title: "Mean broadcast", op: "Mean", dtype: "float32", inputs: [{ dims: [2, 3] }, { dims: [3] }] },
  { title: "Max broadcast", op: "Max", inputs: [{ dims: [2, 3] }, { dims: [3] }, { dims: [2, 1] }] },
  {
    title: "Max with ties: split evenly",
    op: "Max",
    inputs: [
      { dims: [4], values: [1, 2, 3, -1] },
      { dims: [4], values: [1, 0, 5, -1] },
    ],
  },
  { title: "Min", op: "Min", inputs: [{ dims: [2, 3] }, { dims: [2, 3] }] },
  { title: "PRelu per-channel slope", op: "PRelu", inputs: [{ dims: [2, 3, 2] }, { dims: [3, 1] }] },
];

const runtimeShapes: Case[] = [...binary.slice(1, 5), binary[6]!].map((c) => ({
  ...c,
  title: `${c.title}, runtime shapes`,
  shapes: "runtime",
}));

const symbolic: Case[] = [binary[1]!, binary[3]!, binary[6]!, more[8]!].map((c) => ({
  ...c,
  title: `${c.title}, symbolic batch dim`,
  shapes: "symbolic",
}));

describe("elementwise gradient rules", () => {
  for (const c of [...unary, ...clip, ...binary, ...more, ...runtimeShapes, ...symbolic])
    it(c.title, () => checkGradient(c));
  it("Relu: the mask compares Y with a zero of Y's rank ([1, 1, 1, 1]: fast against [N, C, 1, 1])", () => {
    const { graph, backward } = backwardOf(
      (g) => {
        g.addInput("x", "float32", [4, 8, 1, 1]);
        return g.op("ReduceSum", [g.op("Relu", ["x"])], { keepdims: 0 });
      },
      ["x"],
    );
    const greater = backward.find((n) => n.opType === "Greater")!;
    expect(initializerDims(graph, greater.input[1]!)).to.deep.equal([1, 1, 1, 1]);
  });
});
