import { expect } from "chai";
import { float } from "../../../src/onnx/attributes.js";
import { backwardOf } from "../../helpers/backward-nodes.js";
import { checkGradient, type GradCheckCase } from "../../helpers/gradcheck.js";

type Case = GradCheckCase & { title: string };

// A scalar output makes the helper's projection u a scalar, and ORT's optimizer folds Mul(MatMul, u) into a
// FusedMatMul whose alpha is a float32 attribute: the loss comes back ~5e-9 (relative) off in float64
// (measured: exact with graphOptimizationLevel "disabled"). The bound for that case allows float32 rounding
// of u, far below the O(1) error of a wrong gradient.
const FUSED_SCALE_TOL = 1e-6;

const matMul = (title: string, a: number[], b: number[]): Case => ({
  title,
  op: "MatMul",
  inputs: [{ dims: a }, { dims: b }],
});

const matMuls: Case[] = [
  matMul("2-D", [3, 4], [4, 5]),
  matMul("batched", [2, 3, 4], [2, 4, 5]),
  matMul("batch broadcast: 2-D left", [3, 4], [2, 4, 5]),
  matMul("batch broadcast: 2-D right", [2, 3, 4], [4, 5]),
  matMul("batch broadcast: size-1 batch dims both sides", [2, 1, 3, 4], [3, 4, 2]),
  matMul("4-D attention-like", [2, 3, 4, 5], [2, 3, 5, 4]),
  matMul("1-D left", [4], [2, 4, 5]),
  matMul("1-D left, 2-D right", [4], [4, 3]),
  matMul("1-D right", [2, 3, 4], [4]),
  { ...matMul("1-D both", [4], [4]), tol: FUSED_SCALE_TOL },
  { title: "one operand constant", op: "MatMul", inputs: [{ dims: [2, 3, 4] }, { dims: [4, 5], constant: true }] },
  { title: "float32", op: "MatMul", dtype: "float32", inputs: [{ dims: [2, 3, 4] }, { dims: [4, 2] }] },
];

const gemm = (
  title: string,
  a: number[],
  b: number[],
  c: number[] | undefined,
  attrs: GradCheckCase["attrs"],
): Case => ({
  title,
  op: "Gemm",
  attrs,
  inputs: [{ dims: a }, { dims: b }, ...(c ? [{ dims: c }] : [])],
});
const ab = { alpha: float(0.7), beta: float(1.3) };

const gemms: Case[] = [
  gemm("plain, C [M,N]", [3, 4], [4, 5], [3, 5], {}),
  gemm("transB, alpha, beta (Linear)", [3, 4], [5, 4], [3, 5], { transB: 1, ...ab }),
  gemm("transA", [4, 3], [4, 5], [3, 5], { transA: 1, ...ab }),
  gemm("transA and transB", [4, 3], [5, 4], [3, 5], { transA: 1, transB: 1, ...ab }),
  gemm("C broadcast [N]", [3, 4], [5, 4], [5], { transB: 1, ...ab }),
  gemm("C broadcast [1,N]", [3, 4], [4, 5], [1, 5], ab),
  gemm("C broadcast [M,1]", [3, 4], [4, 5], [3, 1], ab),
  gemm("C scalar", [3, 4], [4, 5], [], ab),
  gemm("no C", [3, 4], [5, 4], undefined, { transB: 1, alpha: float(1.5) }),
  {
    title: "C constant",
    op: "Gemm",
    attrs: { transB: 1 },
    inputs: [{ dims: [2, 3] }, { dims: [4, 3] }, { dims: [4], constant: true }],
  },
];

/** The op types of the gradient of `wrt` in ReduceSum(MatMul(a, b)). */
const matMulGradOps = (a: number[], b: number[], wrt: "a" | "b") =>
  backwardOf(
    (g) => {
      g.addInput("a", "float32", a);
      g.addInput("b", "float32", b);
      return g.op("ReduceSum", [g.op("MatMul", ["a", "b"])], { keepdims: 0 });
    },
    [wrt],
  ).backward.map((n) => n.opType);

describe("matrix product gradient rules", () => {
  describe("MatMul", () => matMuls.forEach((c) => it(c.title, () => checkGradient(c))));
  it("a 2-D operand's gradient over the other's batch is one Gemm over batch and inner axis, not a summed batch", () => {
    for (const [a, b, wrt] of [
      [[3, 4], [2, 4, 5], "a"],
      [[2, 3, 4], [4, 5], "b"],
      [[4], [2, 4, 5], "a"],
      [[2, 3, 4], [4], "b"],
    ] as const) {
      const ops = matMulGradOps([...a], [...b], wrt);
      expect(ops, JSON.stringify([a, b, wrt]))
        .to.include("Gemm")
        .and.not.include("ReduceSum");
    }
    // batched on both sides: a batched MatMul per operand, nothing to sum
    expect(matMulGradOps([2, 3, 4], [2, 4, 5], "a"))
      .to.include("MatMul")
      .and.not.include("Gemm");
  });
  describe("Gemm", () => gemms.forEach((c) => it(c.title, () => checkGradient(c))));
});
