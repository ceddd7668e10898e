/**
 * Rewrites the student's convolutions on tiny feature maps as one dense Gemm over the whole batch.
 *
 * onnxruntime's CPU Conv runs one GEMM per sample with the output pixels as the GEMM's N: on a 2x2 or 1x1
 * map that N is 4 or 1 and the kernel is starved (ResNet-18 on 32x32 inputs: 10-12 ms for each 3x3 conv of
 * layer3/layer4 at batch 64, where the same multiply-adds as one Gemm take ~1-3 ms). A conv is a linear map
 * from X[n] (C*Q values, Q input pixels) to Y[n] (O*P values, P output pixels), so on a tiny map it can be
 * run as Y = X @ Wd with the dense matrix Wd[(c,q),(o,p)] = sum_t W[o,c,t] M[p,t,q], M[p,t,q] = 1 when
 * kernel tap t of output pixel p reads input pixel q. Wd is rebuilt from W every step (a MatMul by the
 * constant 0/1 matrix M); the backward is the engine's own Gemm/MatMul/Reshape/Transpose gradients.
 *
 * Taken when the dense form does no more multiply-adds than the convolution (Q <= taps: 1x1 maps, and 2x2
 * maps under 3x3 kernels), group 1, static spatial dims, and Wd at most DENSE_MAX floats. Only the student
 * (the trained copy) is rewritten: the teacher keeps onnxruntime's fused, pre-packed convolutions.
 * Measured: docs/PERFORMANCE.md "Dense convs on tiny maps".
 */
import { attrInt } from "../../onnx/attributes.js";
import type { GraphBuilder } from "../../onnx/builder.js";
import type { Dims } from "../../onnx/graph-view.js";
import { float32, int64, numel } from "../../onnx/tensor.js";
import { kernelShape, resolveWindow, staticDims, tapMatrix, type Window } from "../../autograd/index.js";
import type { NodeProto } from "../../onnx/proto.js";

/** Largest dense weight matrix (floats) the rewrite builds: 4M floats = 16 MiB per conv per step. */
export const DENSE_MAX = 1 << 22;

export interface DenseConvOptions {
  /** Static shapes of the forward values (probeShapes). */
  shapes: ReadonlyMap<string, Dims>;
  /** Dims of a weight (a parameter or constant), when known. */
  weightDims: (name: string) => number[] | undefined;
}

/** Rewrites every eligible Conv node of the graph in place; returns the names of the rewritten nodes. */
export function lowerSmallConvs(b: GraphBuilder, opts: DenseConvOptions): string[] {
  const lowered: string[] = [];
  for (const node of [...b.graph.node]) {
    if (node.opType !== "Conv") continue;
    const plan = densePlan(node, opts);
    if (!plan) continue;
    b.replaceNode(node, () => emitDense(b, node, plan));
    lowered.push(node.name || node.output[0]!);
  }
  return lowered;
}

interface Plan {
  win: Window;
  cOut: number;
  cIn: number;
}

function densePlan(node: NodeProto, opts: DenseConvOptions): Plan | undefined {
  if (attrInt(node, "group", 1) !== 1) return undefined;
  const wDims = opts.weightDims(node.input[1]!);
  const known = { shape: (v: string) => opts.shapes.get(v) };
  const xDims = opts.shapes.get(node.input[0]!);
  if (!wDims || !xDims || xDims.length !== wDims.length || xDims.length < 3 || xDims[1] !== wDims[1]) return undefined;
  const input = staticDims(known, node.input[0]!, 2);
  const output = staticDims(known, node.output[0]!, 2);
  if (!input || !output) return undefined;
  const win = resolveWindow({ node, input, kernel: kernelShape(node, wDims.slice(2)), output });
  const [cOut, cIn] = [wDims[0]!, wDims[1]!];
  const q = numel(input);
  if (q > numel(win.kernel) || cIn * q * cOut * numel(output) > DENSE_MAX) return undefined;
  return { win, cOut, cIn };
}

function emitDense(b: GraphBuilder, node: NodeProto, { win, cOut, cIn }: Plan): void {
  const base = node.name || node.output[0]!;
  const [x, w, bias] = [node.input[0]!, node.input[1]!, node.input[2]];
  const [taps, q, p] = [numel(win.kernel), numel(win.input), numel(win.output)];
  const ints = (v: number[]) => b.constant(`${base}/dense/shape`, int64([v.length], v));
  const op = (type: string, inputs: string[], attrs?: Record<string, number | number[]>) =>
    b.op(type, inputs, attrs, `${base}/dense/${type}`);
  // The dense matrix is built output-pixel-major, Wd^T[(p,o),(c,q)] = sum_t W[o,c,t] M[p,t,q]: a MatMul of W as
  // [O*C, taps] by M (one small GEMM per output pixel) gives [P, O*C, Q], that layout, with no transpose of
  // the (large) weight matrix; only the small [N, P, O] result is transposed back to [N, O, P].
  const m = b.constant(`${base}/dense/taps`, float32(p === 1 ? [taps, q] : [p, taps, q], tapMatrix(win)));
  const dense = op("Reshape", [
    op("MatMul", [op("Reshape", [w, ints([cOut * cIn, taps])]), m]),
    ints([p * cOut, cIn * q]),
  ]);
  const inputs = [op("Reshape", [x, ints([-1, cIn * q])]), dense];
  if (bias)
    inputs.push(
      op("Reshape", [op("Expand", [op("Reshape", [bias, ints([1, cOut])]), ints([p, cOut])]), ints([p * cOut])]),
    );
  let y = op("Gemm", inputs, { transB: 1 });
  if (p > 1) y = op("Transpose", [op("Reshape", [y, ints([-1, p, cOut])])], { perm: [0, 2, 1] });
  b.node("Reshape", [y, ints([-1, cOut, ...win.output])], {
    name: `${base}/dense/Reshape`,
    outputs: [node.output[0]!],
  });
}
