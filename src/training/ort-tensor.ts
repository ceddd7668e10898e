/** Our Tensor <-> onnxruntime's, sharing the data array (no copy either way). */
import { Tensor as OrtTensor } from "onnxruntime-node";
import type { Tensor } from "../onnx/tensor.js";

export function toOrt(t: Tensor): OrtTensor {
  return new OrtTensor(t.dtype as "float32", t.data as Float32Array, t.dims);
}

export function fromOrt(t: OrtTensor): Tensor {
  return { dtype: t.type as Tensor["dtype"], dims: [...t.dims], data: t.data as Tensor["data"] };
}
