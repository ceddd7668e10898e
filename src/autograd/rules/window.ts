/**
 * Sliding-window geometry shared by shape inference and the Conv, MaxPool and AveragePool gradients: resolves
 * auto_pad, ceil_mode and the output size per spatial dim, and the ConvTranspose settings that map an
 * output-sized gradient back onto exactly the input's extent (rows a stride drops get zero gradient), and
 * the 0/1 matrix of which input pixel each kernel tap reads (dense convs on tiny maps, the scattered dX).
 */
import { UserError } from "../../errors.js";
import { attrInt, attrInts, attrString } from "../../onnx/attributes.js";
import type { NodeProto } from "../../onnx/proto.js";
import { numel } from "../../onnx/tensor.js";

export interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  padsBegin: number[];
  padsEnd: number[];
  /** Input spatial size. */
  input: number[];
  /** Output spatial size. */
  output: number[];
}

export interface WindowOptions {
  node: NodeProto;
  /** Spatial dims of the input. */
  input: number[];
  kernel: number[];
  /** Pools only: ONNX ceil_mode. */
  ceilMode?: boolean;
  /** Output spatial size when known (from the forward output's shape); else computed. */
  output?: number[];
}

/** Extent of a dilated kernel. */
export const extent = (w: Window, i: number): number => (w.kernel[i]! - 1) * w.dilations[i]! + 1;

export interface WindowAttrs {
  strides: number[];
  dilations: number[];
  /** [begin..., end...] */
  pads: number[];
  autoPad: string;
}

/** The window attributes of a Conv/MaxPool/AveragePool node with `rank` spatial dims, defaults filled in. */
export function readWindowAttrs(node: NodeProto, rank: number): WindowAttrs {
  const ones = Array<number>(rank).fill(1);
  return {
    strides: attrInts(node, "strides", ones),
    dilations: attrInts(node, "dilations", ones),
    pads: attrInts(node, "pads", Array<number>(2 * rank).fill(0)),
    autoPad: attrString(node, "auto_pad", "NOTSET"),
  };
}

/**
 * Begin/end pads and output size along spatial dim i for an input of size n (auto_pad resolved; an
 * unknown auto_pad counts as NOTSET here, resolveWindow rejects it).
 */
export function spatialDim(
  a: WindowAttrs,
  kernel: number[],
  i: number,
  n: number,
  ceil: boolean,
): { padBegin: number; padEnd: number; output: number } {
  const r = kernel.length;
  const keff = (kernel[i]! - 1) * a.dilations[i]! + 1;
  const s = a.strides[i]!;
  if (a.autoPad === "SAME_UPPER" || a.autoPad === "SAME_LOWER") {
    const output = Math.ceil(n / s);
    const total = Math.max(0, (output - 1) * s + keff - n);
    const small = Math.floor(total / 2);
    const big = total - small;
    return a.autoPad === "SAME_UPPER"
      ? { padBegin: small, padEnd: big, output }
      : { padBegin: big, padEnd: small, output };
  }
  const padBegin = a.autoPad === "VALID" ? 0 : a.pads[i]!;
  const padEnd = a.autoPad === "VALID" ? 0 : a.pads[i + r]!;
  const span = n + padBegin + padEnd - keff;
  let output = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // A last window that would start in the end padding is dropped (ONNX, PyTorch and ORT agree).
  if (ceil && (output - 1) * s >= n + padBegin) output--;
  return { padBegin, padEnd, output };
}

export function resolveWindow(o: WindowOptions): Window {
  const a = readWindowAttrs(o.node, o.kernel.length);
  if (!["NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"].includes(a.autoPad)) {
    throw new UserError(`unknown auto_pad '${a.autoPad}'`, `node '${o.node.name}' (${o.node.opType})`);
  }
  const dims = o.input.map((n, i) => spatialDim(a, o.kernel, i, n, o.ceilMode ?? false));
  const output = dims.map((d) => d.output);
  if (o.output && o.output.some((d, i) => d !== output[i])) {
    throw new UserError(
      `output size [${o.output}] differs from the [${output}] its attributes give for input [${o.input}]`,
      `node '${o.node.name}' (${o.node.opType})`,
    );
  }
  const { strides, dilations } = a;
  return {
    kernel: o.kernel,
    strides,
    dilations,
    padsBegin: dims.map((d) => d.padBegin),
    padsEnd: dims.map((d) => d.padEnd),
    input: o.input,
    output,
  };
}

/** Where the last window ends along dim i, counted from the start of the begin padding. */
const reach = (w: Window, i: number): number => w.strides[i]! * (w.output[i]! - 1) + extent(w, i);

/** The end padding the windows actually read, per spatial dim (less than padsEnd when a stride drops rows, more when ceil_mode lets the last window overhang). */
export const padsEndRead = (w: Window): number[] =>
  w.kernel.map((_, i) => Math.max(0, reach(w, i) - w.padsBegin[i]! - w.input[i]!));

/**
 * ConvTranspose pads and output_padding such that ConvTranspose(dY) with this window's kernel, strides
 * and dilations has exactly the input's spatial size, aligned so that input row x gets the windows that
 * read x. The full transposed extent is reach = s*(out-1)+keff, starting padsBegin before the input.
 */
export function transposeSettings(w: Window): { pads: number[]; outputPadding: number[] } {
  const outputPadding = w.kernel.map((_, i) => Math.max(0, w.padsBegin[i]! + w.input[i]! - reach(w, i)));
  return { pads: [...w.padsBegin, ...padsEndRead(w)], outputPadding };
}

/**
 * M [P, taps, Q], output-pixel-major (or [taps, P, Q], `order` "tap"): 1 where kernel tap t of output pixel p
 * reads input pixel q (row-major multi-indices over the spatial dims).
 */
export function tapMatrix(win: Window, order: "pixel" | "tap" = "pixel"): Float32Array {
  const [taps, q, p] = [numel(win.kernel), numel(win.input), numel(win.output)];
  const m = new Float32Array(p * taps * q);
  const r = win.kernel.length;
  const unflat = (i: number, dims: number[]) => {
    const idx = Array<number>(dims.length);
    for (let d = dims.length - 1; d >= 0; d--) {
      idx[d] = i % dims[d]!;
      i = Math.floor(i / dims[d]!);
    }
    return idx;
  };
  for (let o = 0; o < p; o++) {
    const out = unflat(o, win.output);
    for (let t = 0; t < taps; t++) {
      const tap = unflat(t, win.kernel);
      let flat = 0;
      let inside = true;
      for (let d = 0; d < r && inside; d++) {
        const x = out[d]! * win.strides[d]! - win.padsBegin[d]! + tap[d]! * win.dilations[d]!;
        inside = x >= 0 && x < win.input[d]!;
        flat = flat * win.input[d]! + x;
      }
      if (inside) m[(order === "pixel" ? o * taps + t : t * p + o) * q + flat] = 1;
    }
  }
  return m;
}

/** Kernel shape from the attribute, else from the weight's dims (Conv). */
export function kernelShape(node: NodeProto, weightSpatial?: number[]): number[] {
  const k = attrInts(node, "kernel_shape") ?? weightSpatial;
  if (!k)
    throw new UserError(
      "kernel_shape is missing and the weight shape is unknown",
      `node '${node.name}' (${node.opType})`,
    );
  return k;
}

export const ceilMode = (node: NodeProto): boolean => attrInt(node, "ceil_mode", 0) === 1;
