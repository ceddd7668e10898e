/**
 * Gradient rules of reductions. Axes are an attribute before opset 13 (ReduceSum) / 18 (ReduceMean) and an
 * optional input from then on; no axes means all axes unless noop_with_empty_axes = 1 (then Identity).
 */
import { UserError } from "../../errors.js";
import { attrInt } from "../../onnx/attributes.js";
import { numel, onnxFromDtype } from "../../onnx/tensor.js";
import { normAxis, shapeOf, unsqueeze } from "../emit.js";
import type { GradContext, GradRule } from "../rule.js";
import { dY } from "./elementwise.js";

/** The reduced axes: a list, "all", "none" (noop), or undefined when they are computed at run time. */
function reducedAxes(c: GradContext): number[] | "all" | "none" | undefined {
  const axes = c.axes();
  if (axes === undefined) return undefined;
  if (axes.length > 0) return axes;
  return c.axesAsInput(c.node.opType) && attrInt(c.node, "noop_with_empty_axes", 0) === 1 ? "none" : "all";
}

/** dY broadcast back over the reduced axes to X's shape. */
function spread(c: GradContext): string {
  const g = dY(c);
  const axes = reducedAxes(c);
  if (axes === "none") return g;
  let kept = g;
  if (attrInt(c.node, "keepdims", 1) === 0 && axes !== "all") {
    if (axes === undefined) {
      throw new UserError(
        `ReduceSum/ReduceMean with keepdims=0 needs constant axes to be differentiated`,
        `node '${c.node.name}'`,
      );
    }
    kept = unsqueeze(c, g, axes);
  }
  return c.op("Expand", [kept, shapeOf(c, c.I(0))]);
}

// dX = expand(dY) over the reduced axes
export const reduceSum: GradRule = { nonDifferentiableInputs: [1], grad: (c) => [spread(c)] };

// dX = expand(dY) * size(Y) / size(X)
export const reduceMean: GradRule = {
  nonDifferentiableInputs: [1],
  grad: (c) => [c.op("Mul", [spread(c), countRatio(c)])],
};

/** size(Y) / size(X): 1 / (product of the reduced dims), static when those dims are known. */
function countRatio(c: GradContext): string {
  const x = c.shape(c.I(0));
  const axes = reducedAxes(c);
  if (x && axes !== undefined) {
    const reduced = axes === "none" ? [] : axes === "all" ? x : axes.map((a) => x[normAxis(a, x.length)]);
    if (reduced.every((d): d is number => typeof d === "number")) return c.scalar(1 / numel(reduced), c.I(0));
  }
  const size = (v: string) => c.op("Cast", [c.op("Size", [v])], { to: onnxFromDtype(c.dtype(c.I(0))) });
  return c.op("Div", [size(c.O(0)), size(c.I(0))]);
}
