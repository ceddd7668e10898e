/**
 * Runs the student's forward convs that onnxruntime would split into many tiny per-sample GEMMs with the batch
 * folded into a depth axis (autograd/rules/batch-fold.ts says when and why). Applied after the backward is
 * built: the engine differentiates the plain 2-D Conv (its rule folds its own gradient convs where that
 * pays); only how the forward value is computed changes, under the same output name. The teacher keeps
 * onnxruntime's fused, pre-packed convolutions.
 */
import type { GraphBuilder } from "../../onnx/builder.js";
import type { NodeProto } from "../../onnx/proto.js";
import { numel } from "../../onnx/tensor.js";
import { batchFolded, foldConv, padsEndRead, type FoldAttrs } from "../../autograd/index.js";
import { convWindow2d } from "./conv-window.js";
import type { DenseConvOptions } from "./dense-convs.js";

export interface FoldPlan {
  node: NodeProto;
  attrs: FoldAttrs;
}

/** The student's Conv nodes to fold, with their resolved windows (decided before the backward is built). */
export function planFoldedConvs(nodes: readonly NodeProto[], opts: DenseConvOptions & { opset: number }): FoldPlan[] {
  if (opts.opset < 13) return []; // Unsqueeze/Squeeze take their axes as an input from opset 13
  const plans: FoldPlan[] = [];
  for (const node of nodes) {
    const conv = convWindow2d(node, opts);
    if (!conv) continue;
    const { win, wDims } = conv;
    const pads = [...win.padsBegin, ...padsEndRead(win)];
    const pointwise =
      win.strides.every((s) => s === 1) && win.kernel.every((k) => k === 1) && pads.every((p) => p === 0);
    if (!foldConv({ filters: wDims[0]!, pixels: numel(win.output), pointwise })) continue;
    plans.push({ node, attrs: { kernel_shape: win.kernel, strides: win.strides, dilations: win.dilations, pads } });
  }
  return plans;
}

/** Replaces each planned node in place by its batch-folded form; returns their names. */
export function foldConvs(b: GraphBuilder, plans: readonly FoldPlan[]): string[] {
  const folded: string[] = [];
  for (const { node, attrs } of plans) {
    const base = node.name || node.output[0]!;
    const sink = {
      op: (t: string, inputs: string[], a?: Parameters<GraphBuilder["op"]>[2]) =>
        b.op(t, inputs, a, `${base}/folded/${t}`),
      constant: (t: Parameters<GraphBuilder["constant"]>[1]) => b.constant(`${base}/folded/axes`, t),
    };
    const [x, w, bias] = node.input;
    const replaced = b.replaceNode(node, () =>
      batchFolded(
        sink,
        "Conv",
        [x!, w!, bias || undefined],
        attrs,
        (t, inputs, a) => b.node(t, inputs, { name: `${base}/folded/${t}`, outputs: [node.output[0]!], attrs: a })[0]!,
      ),
    );
    if (replaced) folded.push(base);
  }
  return folded;
}
