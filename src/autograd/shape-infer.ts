/**
 * Static output shapes of the nodes gradient rules emit, as far as they follow from known input shapes
 * and constant inputs. Conservative: anything unsure is `undefined` (unknown), never a guess. The engine
 * uses it to check each rule's gradient against its input's shape and to pick static paths.
 */
import { attrInt, attrInts } from "../onnx/attributes.js";
import type { Dims } from "../onnx/graph-view.js";
import type { NodeProto } from "../onnx/proto.js";
import type { Tensor } from "../onnx/tensor.js";

type Dim = Dims[number];

const SAME_AS_INPUT = new Set([
  "Identity", "Neg", "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Reciprocal", "Abs", "Sign", "Erf", "Cast",
  "CastLike", "Not", "Softmax", "LogSoftmax", "Gelu", "LeakyRelu", "Clip", "IsNaN", "Floor", "Ceil", "Round",
  "BatchNormalization", "LayerNormalization", "Dropout", "HardSigmoid", "HardSwish", "Softplus", "Elu", "Selu",
]);
const BROADCAST = new Set([
  "Add", "Sub", "Mul", "Div", "Pow", "Sum", "Mean", "Max", "Min", "Equal", "Less", "Greater", "LessOrEqual",
  "GreaterOrEqual", "And", "Or", "Where",
]);

export interface InferContext {
  shape(value: string): Dims | undefined;
  constantValue(value: string): Tensor | undefined;
  opset: number;
}

const ints = (t: Tensor | undefined): number[] | undefined => (t ? Array.from(t.data as ArrayLike<number | bigint>, Number) : undefined);

function broadcastDim(a: Dim, b: Dim): Dim | undefined {
  if (a === 1) return b;
  if (b === 1 || a === b) return a;
  if (typeof a === "number" && typeof b === "number") return undefined;
  return null;
}

export function broadcastShapes(shapes: Dims[]): Dims | undefined {
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

const norm = (axes: number[], rank: number) => axes.map((a) => (a < 0 ? a + rank : a));

/** Shape of output 0 of `n`, or undefined. */
export function inferShape(n: NodeProto, ctx: InferContext): Dims | undefined {
  const inShapes = n.input.map((i) => (i ? ctx.shape(i) : undefined));
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
      const target = ints(ctx.constantValue(n.input[1]!));
      if (!target) return undefined;
      const out: Dims = target.map((d, i) => (d === 0 && attrInt(n, "allowzero", 0) === 0 ? (x?.[i] ?? null) : d));
      const neg = out.indexOf(-1);
      if (neg < 0) return out;
      const known = x && x.every((d): d is number => typeof d === "number");
      const rest = out.filter((_, i) => i !== neg);
      if (!known || !rest.every((d): d is number => typeof d === "number")) return out.map((d) => (d === -1 ? null : d));
      out[neg] = (x as number[]).reduce((a, b) => a * b, 1) / rest.reduce((a: number, b) => a * (b as number), 1);
      return out;
    }
    case "Expand": {
      const target = ints(ctx.constantValue(n.input[1]!));
      return x && target ? broadcastShapes([x, target]) : undefined;
    }
    case "ConstantOfShape": return ints(ctx.constantValue(n.input[0]!));
    case "Shape": return x ? [x.length] : undefined;
    case "ReduceSum": case "ReduceMean": {
      const axes = axesOf(n, ctx, n.opType === "ReduceSum" ? 13 : 18);
      if (!x || !axes) return undefined;
      if (axes.length === 0 && attrInt(n, "noop_with_empty_axes", 0) === 1) return x;
      const set = new Set(axes.length ? norm(axes, x.length) : x.map((_, i) => i));
      const keep = attrInt(n, "keepdims", 1) === 1;
      return keep ? x.map((d, i) => (set.has(i) ? 1 : d)) : x.filter((_, i) => !set.has(i));
    }
    case "Unsqueeze": {
      const axes = axesOf(n, ctx, 13);
      if (!x || !axes) return undefined;
      const rank = x.length + axes.length;
      const set = new Set(norm(axes, rank));
      const rest = [...x];
      return Array.from({ length: rank }, (_, i) => (set.has(i) ? 1 : rest.shift()!));
    }
    case "Squeeze": {
      const axes = axesOf(n, ctx, 13);
      if (!x || !axes || axes.length === 0) return undefined;
      const set = new Set(norm(axes, x.length));
      return x.filter((_, i) => !set.has(i));
    }
    case "Concat": {
      if (!inShapes.every((s) => s)) return undefined;
      const all = inShapes as Dims[];
      const axis = norm([attrInt(n, "axis", 0)], all[0]!.length)[0]!;
      const sizes = all.map((s) => s[axis]);
      const total = sizes.every((d): d is number => typeof d === "number") ? sizes.reduce((a, b) => a + b, 0) : null;
      return all[0]!.map((d, i) => (i === axis ? total : d));
    }
    case "Flatten": {
      if (!x) return undefined;
      const axis = norm([attrInt(n, "axis", 1)], x.length)[0]!;
      return [product(x.slice(0, axis)), product(x.slice(axis))];
    }
    case "GlobalAveragePool": case "GlobalMaxPool": return x ? [...x.slice(0, 2), ...x.slice(2).map(() => 1)] : undefined;
    case "Conv": case "MaxPool": case "AveragePool": return x ? windowShape(n, x, inShapes[1]) : undefined;
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
    default: return undefined;
  }
}

function product(d: Dims): Dim {
  return d.every((v): v is number => typeof v === "number") ? d.reduce((p, q) => p * q, 1) : null;
}

/** Output shape of Conv / MaxPool / AveragePool (explicit pads or auto_pad, strides, dilations, ceil_mode). */
function windowShape(n: NodeProto, x: Dims, w: Dims | undefined): Dims | undefined {
  const spatial = x.length - 2;
  const kernel = n.opType === "Conv" ? w?.slice(2) : attrInts(n, "kernel_shape");
  if (!kernel || kernel.length !== spatial || !kernel.every((k): k is number => typeof k === "number")) return undefined;
  const strides = attrInts(n, "strides") ?? kernel.map(() => 1);
  const dilations = attrInts(n, "dilations") ?? kernel.map(() => 1);
  const pads = attrInts(n, "pads") ?? kernel.map(() => 0).concat(kernel.map(() => 0));
  const autoPad = n.attribute.find((a) => a.name === "auto_pad");
  const mode = autoPad ? new TextDecoder().decode(autoPad.s) : "NOTSET";
  const ceil = attrInt(n, "ceil_mode", 0) === 1;
  const channels = n.opType === "Conv" ? (w?.[0] ?? null) : x[1]!;
  const out: Dims = [x[0]!, channels];
  for (let i = 0; i < spatial; i++) {
    const d = x[i + 2];
    if (typeof d !== "number") { out.push(null); continue; }
    if (mode === "SAME_UPPER" || mode === "SAME_LOWER") { out.push(Math.ceil(d / strides[i]!)); continue; }
    const span = dilations[i]! * (kernel[i]! - 1) + 1;
    const padded = d + (mode === "VALID" ? 0 : pads[i]! + pads[i + spatial]!);
    const steps = (padded - span) / strides[i]!;
    let o = (ceil ? Math.ceil(steps) : Math.floor(steps)) + 1;
    // ceil_mode: the last window must start inside the input or the left padding
    if (ceil && (o - 1) * strides[i]! >= d + (mode === "VALID" ? 0 : pads[i]!)) o--;
    out.push(o);
  }
  return out;
}

/** Whether two shapes are certainly different (a known dim differs, or the ranks do). */
export function shapesConflict(a: Dims, b: Dims): boolean {
  if (a.length !== b.length) return true;
  return a.some((d, i) => typeof d === "number" && typeof b[i] === "number" && d !== b[i]);
}
