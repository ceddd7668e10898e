/** The window of a student's group-1 2-D Conv with static shapes, as the forward rewrites (fold-convs.ts,
 *  shared-im2col.ts) plan from. */
import { attrInt } from "../../onnx/attributes.js";
import type { NodeProto } from "../../onnx/proto.js";
import { kernelShape, resolveWindow, staticDims, type Window } from "../../autograd/index.js";
import type { DenseConvOptions } from "./dense-convs.js";

/** The resolved window and the weight's dims [O, C, kh, kw] of a group-1 2-D Conv; undefined for any other node. */
export function convWindow2d(node: NodeProto, opts: DenseConvOptions): { win: Window; wDims: number[] } | undefined {
  if (node.opType !== "Conv" || attrInt(node, "group", 1) !== 1) return undefined;
  const known = { shape: (v: string) => opts.shapes.get(v) };
  const wDims = opts.weightDims(node.input[1]!);
  const input = staticDims(known, node.input[0]!, 2);
  const output = staticDims(known, node.output[0]!, 2);
  if (!wDims || wDims.length !== 4 || input?.length !== 2 || output?.length !== 2) return undefined;
  return { win: resolveWindow({ node, input, kernel: kernelShape(node, wDims.slice(2)), output }), wDims };
}
