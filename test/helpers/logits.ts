/** Runs an ONNX model (path or bytes) on onnxruntime-node (CPU) and returns its first output. */
import * as ort from "onnxruntime-node";
import type { Tensor } from "../../src/onnx/tensor.js";

export async function runModel(model: string | Uint8Array, inputs: Record<string, Tensor>): Promise<Float32Array> {
  const session =
    typeof model === "string" ? await ort.InferenceSession.create(model) : await ort.InferenceSession.create(model);
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [k, t] of Object.entries(inputs))
      feeds[k] = new ort.Tensor(t.dtype as "float32", t.data as Float32Array, t.dims);
    const out = await session.run(feeds);
    return out[session.outputNames[0]!]!.data as Float32Array;
  } finally {
    await session.release();
  }
}

/** Largest absolute difference between two equal-length arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
