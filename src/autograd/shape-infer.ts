/**
 * Static output shapes of the nodes gradient rules emit, as far as they follow from known input shapes
 * and constant inputs. Conservative: anything unsure is `undefined` (unknown), never a guess. The engine
 * uses it to check each rule's gradient against its input's shape and to pick static paths.
 */
import { attrInt, attrInts } from "../onnx/attributes.js";
import type { Dims } from "../onnx/graph-view.js";
import type { NodeProto } from "../onnx/proto.js";
import { numel, type Tensor } from "../onnx/tensor.js";
import { normAxis } from "./emit.js";
import { ceilMode, readWindowAttrs, spatialDim } from "./rules/window.js";

type Dim = Dims[number];

const SAME_AS_INPUT = new Set([
  "Identity",
  "Neg",
  "Relu",
  "Sigmoid",
  "Tanh",
  "Exp",
  "Log",
  "Sqrt",
  "Reciprocal",
  "Abs",
  "Sign",
  "Erf",
  "Cast",
  "CastLike",
  "Not",
  "Softmax",
  "LogSoftmax",
  "Gelu",
  "LeakyRelu",
  "Clip",
  "IsNaN",
  "Floor",
  "Ceil",
  "Round",
  "BatchNormalization",
  "LayerNormalization",
  "Dropout",
  "HardSigmoid",
  "HardSwish",
  "Softplus",
  "Elu",
  "Selu",
]);
const BROADCAST = new Set([
  "Add",
  "Sub",
  "Mul",
  "Div",
  "Pow",
  "Sum",
  "Mean",
  "Max",
  "Min",
  "Equal",
  "Less",
  "Greater",
  "LessOrEqual",
  "GreaterOrEqual",
  "And",
  "Or",
  "Where",
]);

export interface InferContext {
  shape(value: string): Dims | undefined;
  constantValue(value: string): Tensor | undefined;
  /** Symbolic values of small integer tensors (shape arithmetic), see shape-values.ts. */
  value?(value: string): Dims | undefined;
  opset: number;
}

const ints = (t: Tensor | undefined): number[] | undefined =>
  t ? Array.from(t.data as ArrayLike<number | bigint>, Number) : undefined;

function broadcastDim(a: Dim, b: Dim): Dim | undefined {
  if (a === 1) return b;
  if (b === 1 || a === b) return a;
  if (typeof a === "number" && typeof b === "number") return undefined;
  return null;
}

function broadcastShapes(shapes: Dims[]): Dims | undefined {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dims = [];
  for (let j = 0; j < rank; j++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const k = j - (rank - s.length);
      if (k < 0) continue;
      const r = broadcastDim(d, s[k]!);
      if (r === undefined) return undefined;
      d = r;
    }
    out.push(d);
  }
  return out;
}

function axesOf(n: NodeProto, ctx: InferContext, inputFromOpset: number): number[] | undefined {
  if (ctx.opset >= inputFromOpset) return n.input[1] ? ints(ctx.constantValue(n.input[1])) : [];
  return attrInts(n, "axes") ?? [];
}

const normAxes = (axes: number[], rank: number) => axes.map((a) => normAxis(a, rank));

/** Shape of output 0 of `n`, or undefined. */
function inferShape(n: NodeProto, ctx: InferContext): Dims | undefined {
  const inShapes = n.input.map((i) => (i ? ctx.shape(i) : undefined));
  const known = (i: number): Dims | undefined =>
    n.input[i] ? (ctx.value?.(n.input[i]!) ?? ints(ctx.constantValue(n.input[i]!))) : undefined;
  const x = inShapes[0];
  if (SAME_AS_INPUT.has(n.opType)) return x;
  if (BROADCAST.has(n.opType)) return inShapes.every((s) => s) ? broadcastShapes(inShapes as Dims[]) : undefined;
  switch (n.opType) {
    case "Transpose": {
      if (!x) return undefined;
      const perm = attrInts(n, "perm") ?? x.map((_, i) => x.length - 1 - i);
      return perm.map((p) => x[p]!);
    }
    case "Reshape": {
      const target = known(1);
      if (!target) return undefined;
      const out: Dims = target.map((d, i) => (d === 0 && attrInt(n, "allowzero", 0) === 0 ? (x?.[i] ?? null) : d));
      const neg = out.indexOf(-1);
      if (neg >= 0)
        out[neg] = x
          ? quotient(
              x,
              out.filter((_, i) => i !== neg),
            )
          : null;
      return out;
    }
    case "Expand": {
      const target = known(1);
      return x && target ? broadcastShapes([x, target]) : undefined;
    }
    case "ConstantOfShape": {
      const d = known(0);
      return d && d.every((v) => v !== null) ? d : undefined;
    }
    case "Gather": {
      const idx = inShapes[1];
      if (!x || !idx) return undefined;
      const axis = normAxis(attrInt(n, "axis", 0), x.length);
      return [...x.slice(0, axis), ...idx, ...x.slice(axis + 1)];
    }
    case "Slice": {
      if (!x || ctx.opset < 10) return undefined;
      const [starts, ends, axes, steps] = [
        known(1),
        known(2),
        n.input[3] ? known(3) : x.map((_, i) => i),
        n.input[4] ? known(4) : x.map(() => 1),
      ];
      if (![starts, ends, axes, steps].every((v) => v && v.every((d): d is number => typeof d === "number")))
        return undefined;
      const out = [...x];
      (axes as number[]).forEach((ax, k) => {
        const a = normAxis(ax, x.length);
        const dim = x[a];
        const step = (steps as number[])[k]!;
        if (typeof dim !== "number") {
          out[a] = null;
          return;
        }
        const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + dim : v, lo), hi);
        const [b, e] =
          step > 0
            ? [clamp((starts as number[])[k]!, 0, dim), clamp((ends as number[])[k]!, 0, dim)]
            : [clamp((starts as number[])[k]!, 0, dim - 1), clamp((ends as number[])[k]!, -1, dim - 1)];
        out[a] = Math.max(0, Math.ceil((e - b) / step));
      });
      return out;
    }
    case "Constant":
      return ctx.constantValue(n.output[0]!)?.dims;
    case "Shape":
      return x ? [x.length] : undefined;
    case "ReduceSum":
    case "ReduceMean": {
      const axes = axesOf(n, ctx, n.opType === "ReduceSum" ? 13 : 18);
      if (!x || !axes) return undefined;
      if (axes.length === 0 && attrInt(n, "noop_with_empty_axes", 0) === 1) return x;
      const set = new Set(axes.length ? normAxes(axes, x.length) : x.map((_, i) => i));
      const keep = attrInt(n, "keepdims", 1) === 1;
      return keep ? x.map((d, i) => (set.has(i) ? 1 : d)) : x.filter((_, i) => !set.has(i));
    }
    case "Unsqueeze": {
      const axes = axesOf(n, ctx, 13);
      if (!x || !axes) return undefined;
      const rank = x.length + axes.length;
      const set = new Set(normAxes(axes, rank));
      const rest = [...x];
      return Array.from({ length: rank }, (_, i) => (set.has(i) ? 1 : rest.shift()!));
    }
    case "Squeeze": {
      const axes = axesOf(n, ctx, 13);
      if (!x || !axes || axes.length === 0) return undefined;
      const set = new Set(normAxes(axes, x.length));
      return x.filter((_, i) => !set.has(i));
    }
    case "Concat": {
      if (!inShapes.every((s) => s)) return undefined;
      const all = inShapes as Dims[];
      const axis = normAxis(attrInt(n, "axis", 0), all[0]!.length);
      const sizes = all.map((s) => s[axis]);
      const total = sizes.every((d): d is number => typeof d === "number") ? sizes.reduce((a, b) => a + b, 0) : null;
      return all[0]!.map((d, i) => (i === axis ? total : d));
    }
    case "Flatten": {
      if (!x) return undefined;
      const axis = normAxis(attrInt(n, "axis", 1), x.length);
      return [product(x.slice(0, axis)), product(x.slice(axis))];
    }
    case "GlobalAveragePool":
    case "GlobalMaxPool":
      return x ? [...x.slice(0, 2), ...x.slice(2).map(() => 1)] : undefined;
    case "Conv":
    case "MaxPool":
    case "AveragePool":
      return x ? windowShape(n, x, inShapes[1]) : undefined;
    case "Gemm": {
      const [a, b] = [x, inShapes[1]];
      if (!a || !b || a.length !== 2 || b.length !== 2) return undefined;
      return [a[attrInt(n, "transA", 0) ? 1 : 0]!, b[attrInt(n, "transB", 0) ? 0 : 1]!];
    }
    case "MatMul": {
      const [a, b] = [x, inShapes[1]];
      if (!a || !b || a.length < 2 || b.length < 2) return undefined;
      const batch = broadcastShapes([a.slice(0, -2), b.slice(0, -2)]);
      return batch ? [...batch, a[a.length - 2]!, b[b.length - 1]!] : undefined;
    }
    default:
      return undefined;
  }
}

/** numel(x) / numel(rest), cancelling named dims that appear in both; null when it does not resolve. */
function quotient(x: Dims, rest: Dims): Dim {
  const left = [...x];
  const right: number[] = [];
  for (const d of rest) {
    const k = typeof d === "string" ? left.indexOf(d) : -1;
    if (k >= 0) left.splice(k, 1);
    else if (typeof d === "number") right.push(d);
    else return null;
  }
  const num = product(left);
  return typeof num === "number" ? num / numel(right) : null;
}

function product(d: Dims): Dim {
  return d.every((v): v is number => typeof v === "number") ? numel(d) : null;
}

/** Output shape of Conv / MaxPool / AveragePool (explicit pads or auto_pad, strides, dilations, ceil_mode). */
function windowShape(n: NodeProto, x: Dims, w: Dims | undefined): Dims | undefined {
  const spatial = x.length - 2;
  const kernel = n.opType === "Conv" ? w?.slice(2) : attrInts(n, "kernel_shape");
  if (!kernel || kernel.length !== spatial || !kernel.every((k): k is number => typeof k === "number"))
    return undefined;
  const attrs = readWindowAttrs(n, spatial);
  const channels = n.opType === "Conv" ? (w?.[0] ?? null) : x[1]!;
  const sizes = x
    .slice(2)
    .map((d, i) => (typeof d === "number" ? spatialDim(attrs, kernel, i, d, ceilMode(n)).output : null));
  return [x[0]!, channels, ...sizes];
}

/** Whether two shapes are certainly different (a known dim differs, or the ranks do). */
export function shapesConflict(a: Dims, b: Dims): boolean {
  if (a.length !== b.length) return true;
  return a.some((d, i) => typeof d === "number" && typeof b[i] === "number" && d !== b[i]);
}

/** Shapes of every output of `n` (Split has several; other ops give output 0 only). */
export function inferShapes(n: NodeProto, ctx: InferContext): (Dims | undefined)[] {
  if (n.opType !== "Split") return [inferShape(n, ctx)];
  const x = n.input[0] ? ctx.shape(n.input[0]) : undefined;
  if (!x) return [];
  const axis = normAxis(attrInt(n, "axis", 0), x.length);
  const count = n.output.length;
  const total = x[axis];
  let sizes = ctx.opset >= 13 ? (n.input[1] ? ints(ctx.constantValue(n.input[1])) : undefined) : attrInts(n, "split");
  if (!sizes && typeof total === "number") {
    const each = Math.ceil(total / count);
    sizes = Array.from({ length: count }, (_, k) => Math.min(each, Math.max(total - k * each, 0)));
  }
  if (!sizes) return [];
  return sizes.map((s) => x.map((d, i) => (i === axis ? s : d)));
}
