/**
 * Computes a student conv's forward from the im2col columns its weight gradient builds anyway.
 *
 * Where the Conv rule takes dW from the columns cols[n, (c, tap), p] of X (a grouped one-hot Conv; its
 * weightGradBatched form), the forward Y[n] = W[O, C*taps] @ cols[n] is one MatMul broadcast over the batch,
 * and onnxruntime's Conv need not build the same columns again. The GEMM is the same (M = O, N = P,
 * K = C*taps, columns in the same order), so are the numbers. Taken for strided convs only (ResNet's 7x7
 * stride-2 stem: the Conv gained ~1.2x from the second thread at batch 256, the MatMul ~1.8x); on stride-1
 * convs (ResNet-18's layer1) the MatMul was slower at 1 thread, and more columns would be held from the forward
 * to the backward (the stem's: 147 floats per output pixel, 38 MB at batch 256).
 * Applied after the backward is built, like fold-convs.ts: only how the forward value is computed changes,
 * under the same output name; a conv whose columns the backward does not build is left as it is. Measured:
 * docs/PERFORMANCE.md.
 */
import { attrInt, attrInts } from "../../onnx/attributes.js";
import type { GraphBuilder } from "../../onnx/builder.js";
import type { NodeProto } from "../../onnx/proto.js";
import { int64, numel, readTensor } from "../../onnx/tensor.js";
import { im2colKernel, type Window } from "../../autograd/index.js";
import { convWindow2d } from "./conv-window.js";
import type { DenseConvOptions } from "./dense-convs.js";

export interface Im2colPlan {
  node: NodeProto;
  win: Window;
  cOut: number;
  cIn: number;
}

/** The student's strided, group-1, bias-free 2-D Conv nodes with static shapes (before the teacher is added). */
export function planSharedIm2col(nodes: readonly NodeProto[], opts: DenseConvOptions): Im2colPlan[] {
  const plans: Im2colPlan[] = [];
  for (const node of nodes) {
    const conv = node.input[2] ? undefined : convWindow2d(node, opts);
    if (!conv || conv.win.strides.every((s) => s === 1)) continue;
    plans.push({ node, win: conv.win, cOut: conv.wDims[0]!, cIn: conv.wDims[1]! });
  }
  return plans;
}

/** Replaces each planned node whose columns the backward builds by a MatMul over them; returns their names. */
export function shareIm2col(b: GraphBuilder, plans: readonly Im2colPlan[]): string[] {
  const shared: string[] = [];
  for (const plan of plans) {
    const { node, win, cOut, cIn } = plan;
    const cols = b.graph.node.includes(node) ? findColumns(b, plan) : undefined;
    if (!cols) continue;
    const base = node.name || node.output[0]!;
    const k = cIn * numel(win.kernel);
    const ints = (v: number[]) => b.constant(`${base}/im2col/shape`, int64([v.length], v));
    const op = (type: string, inputs: string[]) => b.op(type, inputs, undefined, `${base}/im2col/${type}`);
    b.replaceNode(node, () => {
      const w = op("Reshape", [node.input[1]!, ints([cOut, k])]);
      const y = op("MatMul", [w, op("Reshape", [cols, ints([0, k, -1])])]);
      b.node("Reshape", [y, ints([0, cOut, ...win.output])], {
        name: `${base}/im2col/Reshape`,
        outputs: [node.output[0]!],
      });
    });
    shared.push(base);
  }
  return shared;
}

/** The output of the backward's im2col Conv over this conv's input and window, if there is one. */
function findColumns(b: GraphBuilder, { node, win, cIn }: Im2colPlan): string | undefined {
  const taps = numel(win.kernel);
  const oneHot = im2colKernel(cIn, taps);
  const same = (a: readonly number[] | undefined, want: readonly number[]) =>
    a !== undefined && a.length === want.length && a.every((v, i) => v === want[i]);
  for (const n of b.graph.node) {
    if (n === node || n.opType !== "Conv" || n.input[0] !== node.input[0] || n.input[2]) continue;
    if (attrInt(n, "group", 1) !== cIn || !same(attrInts(n, "kernel_shape"), win.kernel)) continue;
    if (!same(attrInts(n, "strides"), win.strides) || !same(attrInts(n, "dilations"), win.dilations)) continue;
    if (!same(attrInts(n, "pads")?.slice(0, 2), win.padsBegin)) continue;
    const w = b.graph.initializer.find((t) => t.name === n.input[1]);
    if (!w || !same(w.dims.map(Number), [cIn * taps, 1, ...win.kernel])) continue;
    const values = readTensor(w).data;
    if (values.length === oneHot.length && oneHot.every((v, i) => Number(values[i]) === v)) return n.output[0];
  }
  return undefined;
}
