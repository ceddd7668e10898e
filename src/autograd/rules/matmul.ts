/**
 * Gemm and MatMul gradients. MatMul's batch dims broadcast numpy-style: each gradient is computed in the
 * broadcast batch shape and summed down to its operand's own shape here (the engine's `broadcast` flag
 * assumes the output's shape, which a MatMul operand gradient does not have).
 */
import { attrFloat, attrInt, float } from "../../onnx/attributes.js";
import { reduceToShape } from "../broadcast.js";
import { squeeze, unsqueeze } from "../emit.js";
import type { GradContext, GradRule } from "../rule.js";
import { nodeLabel, range, rankOf, transpose } from "./nn-emit.js";

/** Swaps the last two axes. */
const swapLast = (ctx: GradContext, x: string, rank: number): string =>
  transpose(ctx, x, [...range(0, rank - 2), rank - 1, rank - 2]);

const toShapeOf = (ctx: GradContext, grad: string, like: string): string =>
  reduceToShape(ctx, { grad, like, nodeLabel: nodeLabel(ctx) });

/**
 * The gradient of a 2-D operand the other one's batch broadcasts over, as one Gemm that contracts the batch
 * with the inner axis instead of a batched MatMul summed down by ReduceSum (which writes one partial gradient
 * per batch element): dB = sum_i A_i^T dY_i = A'^T dY' with A, dY flattened to [batch*M, K] and [batch*M, N];
 * dA = sum_i dY_i B_i^T = dY''^T B'' with dY as [batch*N, M] (its last two axes swapped: a plain 2-D transpose
 * per batch element, which onnxruntime runs much faster than moving the batch axis inwards) and B as [batch*N, K].
 * The batch's terms are summed in one accumulation in batch order.
 */
function summedOverBatch(ctx: GradContext, which: "A" | "B", dY: string, other: string, rank: number): string {
  const flat = (x: string) => ctx.op("Flatten", [x], { axis: rank - 1 });
  if (which === "B") return ctx.op("Gemm", [flat(other), flat(dY)], { transA: 1 });
  return ctx.op("Gemm", [flat(swapLast(ctx, dY, rank)), flat(swapLast(ctx, other, rank))], { transA: 1 });
}

// dA = dY @ B^T, dB = A^T @ dY (1-D operands promoted to matrices as in the forward, then squeezed)
export const matMul: GradRule = {
  grad(ctx) {
    const [a, b, dY] = [ctx.I(0), ctx.I(1), ctx.GO(0)];
    if (!dY) return [];
    const [ra, rb] = [rankOf(ctx, a), rankOf(ctx, b)];
    if (ra === 1 && rb === 1) {
      return [ctx.needs(0) ? ctx.op("Mul", [dY, b]) : undefined, ctx.needs(1) ? ctx.op("Mul", [dY, a]) : undefined];
    }
    // Promote as the forward does: A [K] -> [1, K], B [K] -> [K, 1]; dY gets the dropped axis back.
    const a2 = ra === 1 ? unsqueeze(ctx, a, [0]) : a;
    const b2 = rb === 1 ? unsqueeze(ctx, b, [1]) : b;
    const dY2 = ra === 1 ? unsqueeze(ctx, dY, [-2]) : rb === 1 ? unsqueeze(ctx, dY, [-1]) : dY;
    let dA: string | undefined;
    let dB: string | undefined;
    const [ra2, rb2] = [Math.max(ra, 2), Math.max(rb, 2)];
    // a 2-D operand that the other's batch broadcasts over gets its gradient in its own shape, summed in the Gemm
    if (ctx.needs(0)) {
      if (ra2 === 2 && rb2 > 2) {
        dA = summedOverBatch(ctx, "A", dY2, b2, rb2);
        if (ra === 1) dA = squeeze(ctx, dA, [0]);
      } else {
        dA = ctx.op("MatMul", [dY2, swapLast(ctx, b2, rb2)]);
        dA = toShapeOf(ctx, ra === 1 ? squeeze(ctx, dA, [-2]) : dA, a);
      }
    }
    if (ctx.needs(1)) {
      if (rb2 === 2 && ra2 > 2) {
        dB = summedOverBatch(ctx, "B", dY2, a2, ra2);
        if (rb === 1) dB = squeeze(ctx, dB, [1]);
      } else {
        dB = ctx.op("MatMul", [swapLast(ctx, a2, ra2), dY2]);
        dB = toShapeOf(ctx, rb === 1 ? squeeze(ctx, dB, [-1]) : dB, b);
      }
    }
    return [dA, dB];
  },
};

// Y = alpha*op(A)@op(B) + beta*C: dA = alpha*dY@op(B)^T (transposed back if transA), dB = alpha*op(A)^T@dY
// (transposed back if transB), dC = beta*dY summed to C's shape
export const gemm: GradRule = {
  grad(ctx) {
    const [a, b, dY] = [ctx.I(0), ctx.I(1), ctx.GO(0)];
    if (!dY) return [];
    // FLOAT attributes are float32: the runtime scales by the rounded values (a node built in memory still
    // holds the unrounded JS number).
    const alpha = Math.fround(attrFloat(ctx.node, "alpha", 1));
    const beta = Math.fround(attrFloat(ctx.node, "beta", 1));
    const tA = attrInt(ctx.node, "transA", 0) === 1;
    const tB = attrInt(ctx.node, "transB", 0) === 1;
    const gemm = (p: string, q: string, transA: boolean, transB: boolean) =>
      ctx.op("Gemm", [p, q], { alpha: float(alpha), transA: transA ? 1 : 0, transB: transB ? 1 : 0 });
    const dA = !ctx.needs(0) ? undefined : tA ? gemm(b, dY, tB, true) : gemm(dY, b, false, !tB);
    const dB = !ctx.needs(1) ? undefined : tB ? gemm(dY, a, true, tA) : gemm(a, dY, !tA, false);
    const hasC = ctx.inputCount > 2 && ctx.I(2) !== "";
    if (!hasC || !ctx.needs(2)) return [dA, dB];
    const scaled = beta === 1 ? dY : ctx.op("Mul", [dY, ctx.scalar(beta, dY)]);
    const dC = reduceToShape(ctx, {
      grad: scaled,
      like: ctx.I(2),
      gradDims: ctx.shape(ctx.O(0)),
      nodeLabel: nodeLabel(ctx),
    });
    return [dA, dB, dC];
  },
};
