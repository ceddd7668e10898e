/** Initializer-level comparison of two ONNX models (the same graph), by bytes. */
import { loadModel, readInitializers } from "../../src/onnx/model-io.js";
import type { Tensor } from "../../src/onnx/tensor.js";

export function initializersOf(path: string): Map<string, Tensor> {
  return readInitializers(loadModel(path));
}

const bytesOf = (t: Tensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

/** Names of the initializers whose values differ (dims and dtype must match: a changed shape throws). */
export function changedInitializers(a: Map<string, Tensor>, b: Map<string, Tensor>): string[] {
  if ([...a.keys()].sort().join() !== [...b.keys()].sort().join())
    throw new Error("the two models have different initializer names");
  const changed: string[] = [];
  for (const [name, ta] of a) {
    const tb = b.get(name)!;
    if (ta.dtype !== tb.dtype || ta.dims.join() !== tb.dims.join())
      throw new Error(`initializer ${name}: ${ta.dtype}[${ta.dims}] became ${tb.dtype}[${tb.dims}]`);
    if (!bytesOf(ta).equals(bytesOf(tb))) changed.push(name);
  }
  return changed.sort();
}

/** The float32 values of each initializer (any other dtype is an error: the models here are float32). */
export function floatValues(tensors: Map<string, Tensor>): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, t] of tensors) {
    if (!(t.data instanceof Float32Array)) throw new Error(`initializer ${name} is ${t.dtype}, not float32`);
    out.set(name, t.data);
  }
  return out;
}

/** Sample mean and standard deviation, smallest and largest value. */
export function sampleStats(data: ArrayLike<number>): {
  n: number;
  mean: number;
  std: number;
  min: number;
  max: number;
} {
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    sum += data[i]!;
    if (data[i]! < min) min = data[i]!;
    if (data[i]! > max) max = data[i]!;
  }
  const mean = sum / data.length;
  let sq = 0;
  for (let i = 0; i < data.length; i++) sq += (data[i]! - mean) ** 2;
  return { n: data.length, mean, std: Math.sqrt(sq / data.length), min, max };
}
