/**
 * Gradient rules of data-movement ops: reshapes, transposes, concatenation and splitting, slicing,
 * gathering, Expand and Where. Shape/index/axes inputs are never differentiable.
 */
import { attrInt, attrInts, attrString } from "../../onnx/attributes.js";
import { UserError } from "../../errors.js";
import { int64, numel, onnxFromDtype, zeros as zerosTensor } from "../../onnx/tensor.js";
import { normAxis, reshapeLike, shapeOf, split as splitInto, staticDims, zerosLike } from "../emit.js";
import type { GradContext, GradRule } from "../rule.js";
import { dY } from "./elementwise.js";

// dX = reshape(dY, shape(X))
const reshapeBack: GradRule = { nonDifferentiableInputs: [1], grad: (c) => [reshapeLike(c, dY(c), c.I(0))] };
export const reshape = reshapeBack;
export const flatten = reshapeBack;
export const squeeze = reshapeBack;
export const unsqueeze = reshapeBack;

// dX = transpose(dY, inverse(perm))
export const transpose: GradRule = {
  grad: (c) => {
    const perm = attrInts(c.node, "perm");
    if (!perm) return [c.op("Transpose", [dY(c)])];
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [c.op("Transpose", [dY(c)], { perm: inverse })];
  },
};

// dX = dY summed over the expanded axes (the engine's broadcast reduction)
export const expand: GradRule = { broadcast: true, nonDifferentiableInputs: [1], grad: (c) => [dY(c)] };

// dX = where(C, dY, 0), dY' = where(C, 0, dY)
export const where: GradRule = {
  broadcast: true,
  nonDifferentiableInputs: [0],
  grad: (c) => {
    const g = dY(c);
    const zero = c.scalar(0, g);
    return [
      undefined,
      c.needs(1) ? c.op("Where", [c.I(0), g, zero]) : undefined,
      c.needs(2) ? c.op("Where", [c.I(0), zero, g]) : undefined,
    ];
  },
};

// dX_i = the slice of dY that input i filled
export const concat: GradRule = {
  grad: (c) => {
    const g = dY(c);
    const n = c.inputCount;
    const axis = attrInt(c.node, "axis", 0);
    const sizes = c.node.input.map((x) => c.shape(x)?.at(axis));
    if (sizes.every((s): s is number => typeof s === "number")) return splitInto(c, g, sizes, axis);
    // runtime offsets: cumulative sizes along the axis
    const axisT = c.constant(int64([1], [axis]));
    let start = c.constant(int64([1], [0]));
    const out: (string | undefined)[] = [];
    for (let i = 0; i < n; i++) {
      const end = c.op("Add", [start, c.op("Gather", [c.op("Shape", [c.I(i)]), axisT])]);
      out.push(c.needs(i) ? c.op("Slice", [g, start, end, axisT]) : undefined);
      start = end;
    }
    return out;
  },
};

// dX = concat(dY_k, zeros where an output has no gradient)
export const split: GradRule = {
  nonDifferentiableInputs: [1],
  grad: (c) => {
    const parts = c.node.output.map((o, k) => c.GO(k) ?? zerosLike(c, o));
    return [c.op("Concat", parts, { axis: attrInt(c.node, "axis", 0) })];
  },
};

// dX = pad(dY) with zeros around the slice (unit steps, known bounds); otherwise scatter(dY) into zeros at the
// sliced positions, found by slicing an index tensor the same way
export const slice: GradRule = {
  nonDifferentiableInputs: [1, 2, 3, 4],
  grad: (c) => {
    const pads = slicePads(c);
    if (pads) return [padWithZeros(c, dY(c), pads)];
    const x = c.I(0);
    const n = c.op("Size", [x]);
    const positions = c.op("Reshape", [
      c.op("Range", [c.constant(int64([], [0])), n, c.constant(int64([], [1]))]),
      shapeOf(c, x),
    ]);
    const picked = c.op("Slice", [positions, ...c.node.input.slice(1)]);
    const flat = c.constant(int64([1], [-1]));
    const zeros = c.op("ConstantOfShape", [c.op("Reshape", [n, flat])], { value: zerosTensor(c.dtype(x), [1]) });
    const scattered = c.op(
      "ScatterElements",
      [zeros, c.op("Reshape", [picked, flat]), c.op("Reshape", [dY(c), flat])],
      { axis: 0 },
    );
    return [reshapeLike(c, scattered, x)];
  },
};

/** Zero padding [begin..., end...] that undoes a unit-step slice of known bounds on a known shape. */
function slicePads(c: GradContext): number[] | undefined {
  const dims = c.shape(c.I(0));
  if (!dims) return undefined;
  const read = (i: number, attr: string) => {
    if (c.opset < 10) return attrInts(c.node, attr);
    if (!c.I(i)) return undefined;
    const t = c.constantValue(c.I(i));
    return t ? Array.from(t.data as ArrayLike<number | bigint>, Number) : null;
  };
  const [starts, ends, axes, steps] = [read(1, "starts"), read(2, "ends"), read(3, "axes"), read(4, "steps")];
  if (!starts || !ends || axes === null || steps === null || (steps && steps.some((s) => s !== 1))) return undefined;
  const rank = dims.length;
  const pads = new Array<number>(2 * rank).fill(0);
  // only the sliced axes need known sizes (a symbolic batch dim elsewhere is fine)
  for (const [k, ax] of (axes ?? starts.map((_, i) => i)).entries()) {
    const a = normAxis(ax, rank);
    const dim = dims[a];
    if (typeof dim !== "number") return undefined;
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
    const [b, e] = [clamp(starts[k]!), clamp(ends[k]!)];
    pads[a] = b;
    pads[a + rank] = dim - Math.max(e, b);
  }
  return pads;
}

function padWithZeros(c: GradContext, x: string, pads: number[]): string {
  if (c.opset < 11) return c.op("Pad", [x], { pads });
  return c.op("Pad", [x, c.constant(int64([pads.length], pads))]);
}

// dData[.., d, ..] = sum over positions q with indices[q] == d of dY[.., q, ..]  (one-hot(indices)^T @ dY)
export const gather: GradRule = {
  nonDifferentiableInputs: [1],
  grad: (c) => {
    const [data, indices] = [c.I(0), c.I(1)];
    const axis = attrInt(c.node, "axis", 0);
    const rank = c.shape(data)?.length;
    if (axis < 0 && rank === undefined)
      throw new UserError(`Gather with a negative axis needs the rank of '${data}'`, `node '${c.node.name}'`);
    const a = normAxis(axis, rank!);
    const one = (v: number) => c.constant(int64([1], [v]));
    const depth = c.shape(data)?.[a];
    const depthT = typeof depth === "number" ? one(depth) : c.op("Gather", [c.op("Shape", [data]), one(a)]);
    const indexDims = staticDims(c, indices);
    const mT = indexDims ? one(numel(indexDims)) : c.op("Reshape", [c.op("Size", [indices]), one(1)]);
    const idx = c.op("Reshape", [c.op("Cast", [indices], { to: onnxFromDtype("int64") }), one(-1)]);
    const onehot = c.op(
      "OneHot",
      [idx, depthT, c.constant({ dtype: "float32", dims: [2], data: Float32Array.from([0, 1]) })],
      { axis: -1 },
    );
    const typed = c.dtype(data) === "float32" ? onehot : c.op("Cast", [onehot], { to: onnxFromDtype(c.dtype(data)) });
    const ohT = c.op("Transpose", [typed], { perm: [1, 0] });
    // dY as [prod(before axis), numel(indices), prod(after axis)]
    const g3 = c.op("Reshape", [
      c.op("Flatten", [dY(c)], { axis: a }),
      c.op("Concat", [one(0), mT, one(-1)], { axis: 0 }),
    ]);
    return [reshapeLike(c, c.op("MatMul", [ohT, g3]), data)];
  },
};

// constant mode: dX = dY without the padding (Slice), with zeros where the pads were negative (crops)
export const pad: GradRule = {
  nonDifferentiableInputs: [1, 2, 3],
  grad: (c) => {
    const mode = attrString(c.node, "mode", "constant");
    if (mode !== "constant")
      throw new UserError(`Pad mode '${mode}' has no gradient rule (only 'constant')`, `node '${c.node.name}'`);
    const read = (i: number) => {
      const t = c.I(i) ? c.constantValue(c.I(i)) : undefined;
      return t ? Array.from(t.data as ArrayLike<number | bigint>, Number) : undefined;
    };
    const pads = c.opset < 11 ? attrInts(c.node, "pads") : read(1);
    if (!pads) throw new UserError("Pad needs constant pads to be differentiated", `node '${c.node.name}'`);
    const half = pads.length / 2;
    const axes = (c.opset >= 18 && c.I(3) ? read(3) : undefined) ?? Array.from({ length: half }, (_, i) => i);
    const rank = c.shape(c.I(0))?.length ?? half;
    const full = new Array<number>(2 * rank).fill(0);
    axes.forEach((a, k) => {
      const ax = normAxis(a, rank);
      full[ax] = pads[k]!;
      full[ax + rank] = pads[k + half]!;
    });
    let g = dY(c);
    if (full.some((p) => p < 0))
      g = padWithZeros(
        c,
        g,
        full.map((p) => Math.max(-p, 0)),
      );
    const begin = full.slice(0, rank).map((p) => Math.max(p, 0));
    const end = full.slice(rank).map((p) => Math.max(p, 0));
    const sliced = begin.map((_, i) => i).filter((i) => begin[i]! > 0 || end[i]! > 0);
    if (sliced.length === 0) return [g];
    const vec = (v: number[]) => c.constant(int64([v.length], v));
    const starts = sliced.map((i) => begin[i]!);
    const ends = sliced.map((i) => (end[i]! > 0 ? -end[i]! : Number.MAX_SAFE_INTEGER));
    if (c.opset < 10) return [c.op("Slice", [g], { starts, ends, axes: sliced })];
    return [c.op("Slice", [g, vec(starts), vec(ends), vec(sliced)])];
  },
};
