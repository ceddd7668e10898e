/**
 * Sliding-window geometry shared by Conv, MaxPool and AveragePool gradients: resolves auto_pad, ceil_mode
 * and the output size per spatial dim, and the ConvTranspose settings that map an output-sized gradient
 * back onto exactly the input's extent (rows a stride drops get zero gradient).
 */
import { UserError } from "../../errors.js";
import { attrInt, attrInts, attrString } from "../../onnx/attributes.js";
import type { NodeProto } from "../../onnx/proto.js";

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

export function resolveWindow(o: WindowOptions): Window {
  const r = o.kernel.length;
  const ones = Array<number>(r).fill(1);
  const strides = attrInts(o.node, "strides", ones);
  const dilations = attrInts(o.node, "dilations", ones);
  const autoPad = attrString(o.node, "auto_pad", "NOTSET");
  const pads = attrInts(o.node, "pads", Array<number>(2 * r).fill(0));
  const padsBegin: number[] = [];
  const padsEnd: number[] = [];
  const output: number[] = [];
  for (let i = 0; i < r; i++) {
    const keff = (o.kernel[i]! - 1) * dilations[i]! + 1;
    const s = strides[i]!;
    const n = o.input[i]!;
    if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
      const out = Math.ceil(n / s);
      const total = Math.max(0, (out - 1) * s + keff - n);
      const small = Math.floor(total / 2);
      padsBegin.push(autoPad === "SAME_UPPER" ? small : total - small);
      padsEnd.push(autoPad === "SAME_UPPER" ? total - small : small);
      output.push(out);
      continue;
    }
    if (autoPad !== "NOTSET" && autoPad !== "VALID") throw new UserError(`unknown auto_pad '${autoPad}'`, `node '${o.node.name}' (${o.node.opType})`);
    const pb = autoPad === "VALID" ? 0 : pads[i]!;
    const pe = autoPad === "VALID" ? 0 : pads[i + r]!;
    const span = n + pb + pe - keff;
    let out = (o.ceilMode ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
    // A last window that would start in the end padding is dropped (ONNX, PyTorch and ORT agree).
    if (o.ceilMode && (out - 1) * s >= n + pb) out--;
    padsBegin.push(pb);
    padsEnd.push(pe);
    output.push(out);
  }
  if (o.output && o.output.some((d, i) => d !== output[i])) {
    throw new UserError(`output size [${o.output}] differs from the [${output}] its attributes give for input [${o.input}]`, `node '${o.node.name}' (${o.node.opType})`);
  }
  return { kernel: o.kernel, strides, dilations, padsBegin, padsEnd, input: o.input, output };
}

/**
 * ConvTranspose pads and output_padding such that ConvTranspose(dY) with this window's kernel, strides
 * and dilations has exactly the input's spatial size, aligned so that input row x gets the windows that
 * read x. The full transposed extent is s*(out-1)+keff, starting padsBegin before the input.
 */
export function transposeSettings(w: Window): { pads: number[]; outputPadding: number[] } {
  const begin: number[] = [];
  const end: number[] = [];
  const outputPadding: number[] = [];
  w.kernel.forEach((_, i) => {
    const full = w.strides[i]! * (w.output[i]! - 1) + extent(w, i);
    const crop = full - w.padsBegin[i]! - w.input[i]!;
    begin.push(w.padsBegin[i]!);
    end.push(Math.max(0, crop));
    outputPadding.push(Math.max(0, -crop));
  });
  return { pads: [...begin, ...end], outputPadding };
}

/** Kernel shape from the attribute, else from the weight's dims (Conv). */
export function kernelShape(node: NodeProto, weightSpatial?: number[]): number[] {
  const k = attrInts(node, "kernel_shape") ?? weightSpatial;
  if (!k) throw new UserError("kernel_shape is missing and the weight shape is unknown", `node '${node.name}' (${node.opType})`);
  return k;
}

export const ceilMode = (node: NodeProto): boolean => attrInt(node, "ceil_mode", 0) === 1;
