/**
 * Pooling gradients: MaxPool (to the first argmax of each window, as PyTorch; overlapping windows before opset
 * 16 through one-hot ConvTranspose kernels), AveragePool (each window's
 * gradient spread evenly over the window, divided by the count the runtime itself used), GlobalAveragePool.
 */
import { UserError } from "../../errors.js";
import { attrInt, attrInts, attrString, type Attrs } from "../../onnx/attributes.js";
import type { NodeProto } from "../../onnx/proto.js";
import { int64, numel, onnxFromDtype } from "../../onnx/tensor.js";
import { reshapeLike, shapeOf, staticDims, zerosLike } from "../emit.js";
import type { GradContext, GradRule } from "../rule.js";
import { constantLike, nodeLabel, onesLike, requireDims, reshape } from "./nn-emit.js";
import {
  ceilMode,
  kernelShape,
  padsEndRead,
  readWindowAttrs,
  resolveWindow,
  transposeSettings,
  type Window,
} from "./window.js";

function poolWindow(ctx: GradContext): Window {
  const input = requireDims(ctx, ctx.I(0), 2);
  const output = staticDims(ctx, ctx.O(0), 2);
  return resolveWindow({ node: ctx.node, input, kernel: kernelShape(ctx.node), ceilMode: ceilMode(ctx.node), output });
}

/** The window as explicit attributes (auto_pad resolved), for re-emitting the pool or a Conv over it;
 *  dilations only when used (AveragePool has them from opset 19 only). */
const windowAttrs = (w: Window): Attrs => ({
  kernel_shape: w.kernel,
  strides: w.strides,
  pads: [...w.padsBegin, ...w.padsEnd],
  dilations: w.dilations.some((d) => d !== 1) ? w.dilations : undefined,
});

/** The forward's own window attributes (auto_pad and ceil_mode as given), for re-running MaxPool. */
function forwardWindowAttrs(node: NodeProto): Attrs {
  const attrs: Attrs = {};
  for (const name of ["kernel_shape", "strides", "pads", "dilations"]) attrs[name] = attrInts(node, name);
  attrs["auto_pad"] = attrString(node, "auto_pad");
  attrs["ceil_mode"] = attrInt(node, "ceil_mode");
  return attrs;
}

// dX[i] = sum of dY[o] over the windows o whose (first) argmax is i: ScatterElements(add) at MaxPool's Indices
export const maxPool: GradRule = {
  nonDifferentiableOutputs: [1],
  grad(ctx) {
    const [x, dY] = [ctx.I(0), ctx.GO(0)];
    if (!dY) return [];
    const kernel = kernelShape(ctx.node);
    const { strides, dilations } = readWindowAttrs(ctx.node, kernel.length);
    const reuse = ctx.node.output[1] && attrInt(ctx.node, "storage_order", 0) === 0;
    const indices = reuse
      ? ctx.O(1)
      : ctx.ops("MaxPool", [x], 2, { ...forwardWindowAttrs(ctx.node), storage_order: 0 })[1]!;
    if (ctx.opset < 16 && kernel.some((k, i) => (k - 1) * dilations[i]! + 1 > strides[i]!)) {
      if (ctx.opset < 10)
        throw new UserError("the gradient of overlapping MaxPool windows needs opset >= 10 (Mod)", nodeLabel(ctx));
      return [overlappingWindows(ctx, x, dY, indices)];
    }
    // Indices are flat offsets into the whole of X (batch and channel included).
    const flat = ctx.op(
      "ScatterElements",
      [reshape(ctx, zerosLike(ctx, x), [-1]), reshape(ctx, indices, [-1]), reshape(ctx, dY, [-1])],
      ctx.opset >= 16 ? { axis: 0, reduction: "add" } : { axis: 0 },
    );
    return [reshapeLike(ctx, flat, x)];
  },
};

/**
 * dX of overlapping MaxPool windows without ScatterElements' reduction='add' (opset < 16): each window's argmax
 * as its offset j inside the window (from the flat Indices), dY split into K = prod(kernel) planes by
 * [offset == j], and one ConvTranspose with one-hot kernels puts plane j at offset j of every window, summing
 * where windows overlap.
 */
function overlappingWindows(ctx: GradContext, x: string, dY: string, indices: string): string {
  const win = poolWindow(ctx);
  const r = win.kernel.length;
  const K = numel(win.kernel);
  const ints = (dims: number[], v: number[]) => ctx.constant(int64(dims, v));
  const int = (v: number) => ints([], [v]);
  // position of the argmax inside its channel plane, then its coordinate along each spatial dim
  const inPlane = ctx.op("Mod", [indices, int(numel(win.input))]);
  let offset: string | undefined;
  for (let i = 0; i < r; i++) {
    const coord = ctx.op("Mod", [ctx.op("Div", [inPlane, int(numel(win.input.slice(i + 1)))]), int(win.input[i]!)]);
    // where window o starts along dim i: o * stride - pad (shaped to broadcast over [N, C, out...])
    const starts = Array.from({ length: win.output[i]! }, (_, o) => o * win.strides[i]! - win.padsBegin[i]!);
    const shape = [1, 1, ...win.output.map((d, k) => (k === i ? d : 1))];
    const along = ctx.op("Div", [ctx.op("Sub", [coord, ints(shape, starts)]), int(win.dilations[i]!)]);
    const term = ctx.op("Mul", [along, int(numel(win.kernel.slice(i + 1)))]);
    offset = offset ? ctx.op("Add", [offset, term]) : term;
  }
  const planeDims = (c: number) => [-1, c, ...win.output];
  const which = ints(
    [1, K, ...Array<number>(r).fill(1)],
    Array.from({ length: K }, (_, j) => j),
  );
  const hit = ctx.op("Equal", [reshape(ctx, offset!, planeDims(1)), which]);
  const split = ctx.op("Mul", [
    reshape(ctx, dY, planeDims(1)),
    ctx.op("Cast", [hit], { to: onnxFromDtype(ctx.dtype(dY)) }),
  ]);
  const oneHot = new Float64Array(K * K);
  for (let j = 0; j < K; j++) oneHot[j * K + j] = 1;
  const kernels = constantLike(ctx, dY, [K, 1, ...win.kernel], oneHot);
  const { pads, outputPadding } = transposeSettings(win);
  const spread = ctx.op("ConvTranspose", [split, kernels], {
    kernel_shape: win.kernel,
    strides: win.strides,
    dilations: win.dilations,
    pads,
    output_padding: outputPadding,
  });
  return reshapeLike(ctx, spread, x);
}

// dX = ConvTranspose(dY / count, ones(kernel)) per channel plane, count being the runtime's divisor per window
export const averagePool: GradRule = {
  grad(ctx) {
    const [x, dY] = [ctx.I(0), ctx.GO(0)];
    if (!dY) return [];
    const win = poolWindow(ctx);
    const r = win.kernel.length;
    const { pads, outputPadding } = transposeSettings(win);
    const scaled = ctx.op("Mul", [dY, inverseCounts(ctx, win, dY)]);
    const planes = reshape(ctx, scaled, [-1, 1, ...Array<number>(r).fill(0)]);
    const ones = onesLike(ctx, dY, [1, 1, ...win.kernel]);
    const spread = ctx.op("ConvTranspose", [planes, ones], {
      kernel_shape: win.kernel,
      strides: win.strides,
      dilations: win.dilations,
      pads,
      output_padding: outputPadding,
    });
    return [reshapeLike(ctx, spread, x)];
  },
};

/**
 * 1/count per output position. Without padding or ceil overhang every window is full: 1/prod(kernel).
 * Otherwise the divisor depends on count_include_pad and on how the runtime clips windows at the border,
 * so it is measured in the graph: AveragePool(ones) = valid/count, valid = a Conv of ones over the window.
 */
function inverseCounts(ctx: GradContext, win: Window, like: string): string {
  const overhang = padsEndRead(win);
  const full = win.padsBegin.every((p) => p === 0) && overhang.every((p) => p === 0);
  if (full) return ctx.scalar(1 / numel(win.kernel), like);
  const onesIn = onesLike(ctx, like, [1, 1, ...win.input]);
  const onesK = onesLike(ctx, like, [1, 1, ...win.kernel]);
  const ratio = ctx.op("AveragePool", [onesIn], {
    ...windowAttrs(win),
    ceil_mode: ceilMode(ctx.node) ? 1 : 0,
    count_include_pad: attrInt(ctx.node, "count_include_pad", 0),
  });
  const valid = ctx.op("Conv", [onesIn, onesK], { ...windowAttrs(win), pads: [...win.padsBegin, ...overhang] });
  return ctx.op("Div", [ratio, ctx.op("Max", [valid, ctx.scalar(1, like)])]);
}

// dX = Expand(dY / prod(spatial dims), shape(X))
export const globalAveragePool: GradRule = {
  grad(ctx) {
    const [x, dY] = [ctx.I(0), ctx.GO(0)];
    if (!dY) return [];
    const spatial = staticDims(ctx, x, 2);
    const inverseCount = spatial
      ? ctx.scalar(1 / numel(spatial), dY)
      : ctx.op("Reciprocal", [
          ctx.op("Cast", [ctx.op("Div", [ctx.op("Size", [x]), ctx.op("Size", [dY])])], {
            to: onnxFromDtype(ctx.dtype(dY)),
          }),
        ]);
    return [ctx.op("Expand", [ctx.op("Mul", [dY, inverseCount]), shapeOf(ctx, x)])];
  },
};
