/**
 * Runs the student's forward convs that onnxruntime would split into many tiny per-sample GEMMs with the batch
 * folded into a depth axis (autograd/rules/batch-fold.ts says when and why). Applied after the backward is
 * built: the engine differentiates the plain 2-D Conv (its rule folds its own gradient convs where that
 * pays); only how the forward value is computed changes, under the same output name. The teacher keeps
 * onnxruntime's fused, pre-packed convolutions.
 */
import { attrInt } from "../../onnx/attributes.js";
import type { GraphBuilder } from "../../onnx/builder.js";
import { numel } from "../../onnx/tensor.js";
import type { NodeProto } from "../../onnx/proto.js";
import {
  batchFolded,
  foldConv,
  kernelShape,
  padsEndRead,
  resolveWindow,
  staticDims,
  type FoldAttrs,
} from "../../autograd/index.js";
import type { DenseConvOptions } from "./dense-convs.js";

export interface FoldPlan {
  node: NodeProto;
  attrs: FoldAttrs;
}

/** The student's Conv nodes to fold, with their resolved windows (decided before the backward is built). */
export function planFoldedConvs(nodes: readonly NodeProto[], opts: DenseConvOptions & { opset: number }): FoldPlan[] {
  if (opts.opset < 13) return []; // Unsqueeze/Squeeze take their axes as an input from opset 13
  const plans: FoldPlan[] = [];
  const known = { shape: (v: string) => opts.shapes.get(v) };
  for (const node of nodes) {
    if (node.opType !== "Conv" || attrInt(node, "group", 1) !== 1) continue;
    const wDims = opts.weightDims(node.input[1]!);
    const input = staticDims(known, node.input[0]!, 2);
    const output = staticDims(known, node.output[0]!, 2);
    if (!wDims || wDims.length !== 4 || input?.length !== 2 || output?.length !== 2) continue;
    const win = resolveWindow({ node, input, kernel: kernelShape(node, wDims.slice(2)), output });
    const pads = [...win.padsBegin, ...padsEndRead(win)];
    const pointwise =
      win.strides.every((s) => s === 1) && win.kernel.every((k) => k === 1) && pads.every((p) => p === 0);
    if (!foldConv({ filters: wDims[0]!, pixels: numel(output), pointwise })) continue;
    plans.push({ node, attrs: { kernel_shape: win.kernel, strides: win.strides, dilations: win.dilations, pads } });
  }
  return plans;
}

/** Replaces each planned node in place by its batch-folded form; returns their names. */
export function foldConvs(b: GraphBuilder, plans: readonly FoldPlan[]): string[] {
  const folded: string[] = [];
  for (const { node, attrs } of plans) {
    const at = b.graph.node.indexOf(node);
    if (at < 0) continue;
    const base = node.name || node.output[0]!;
    const sink = {
      op: (t: string, inputs: string[], a?: Parameters<GraphBuilder["op"]>[2]) =>
        b.op(t, inputs, a, `${base}/folded/${t}`),
      constant: (t: Parameters<GraphBuilder["constant"]>[1]) => b.constant(`${base}/folded/axes`, t),
    };
    const before = b.graph.node.length;
    const [x, w, bias] = node.input;
    batchFolded(
      sink,
      "Conv",
      [x!, w!, bias || undefined],
      attrs,
      (t, inputs, a) => b.node(t, inputs, { name: `${base}/folded/${t}`, outputs: [node.output[0]!], attrs: a })[0]!,
    );
    const added = b.graph.node.splice(before);
    b.graph.node.splice(at, 1, ...added);
    folded.push(base);
  }
  return folded;
}
