/**
 * Static shapes of every value of an inference graph, from two forward runs with onnxruntime-node at
 * batch sizes 1 and 3 (zeros as input): a dim that differs between the runs follows the batch and is
 * reported as unknown (null). Gradient rules of Conv, pooling and friends need the other dims statically.
 */
import * as ort from "onnxruntime-node";
import { UserError } from "../../errors.js";
import type { Dims } from "../../onnx/graph-view.js";
import { cloneModel, encodeModel, newTensorValueInfo, valueInfoDims, valueInfoElemType, type ModelProto } from "../../onnx/proto.js";
import { dtypeFromOnnx, zeros } from "../../onnx/tensor.js";

export async function probeShapes(model: ModelProto, input: string, file: string): Promise<Map<string, Dims>> {
  const probe = cloneModel(model);
  const g = probe.graph!;
  const declared = g.input.find((i) => i.name === input)!;
  const dims = valueInfoDims(declared);
  const dtype = dtypeFromOnnx(valueInfoElemType(declared) ?? 0);
  const unknown = (dims ?? []).slice(1).filter((d) => typeof d !== "number");
  if (!dims || unknown.length || dtype !== "float32") {
    throw new UserError(`input '${input}' must be float32 with static dims after the batch dim, got ${dtype ?? "?"} [${(dims ?? []).map((d) => d ?? "?")}]`, file);
  }
  const known = new Set(g.output.map((o) => o.name));
  for (const n of g.node) for (const o of n.output) if (o && !known.has(o)) { known.add(o); g.output.push(newTensorValueInfo(o, 0)); }
  // ValueInfo with element type 0 is "unknown": strip the type so ORT infers it
  for (const o of g.output) if (valueInfoElemType(o) === 0) o.type = undefined;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(encodeModel(probe));
  } catch (e) {
    throw new UserError(`onnxruntime cannot load the model: ${(e as Error).message}`, file);
  }
  const run = async (batch: number) => {
    const shape = [batch, ...(dims.slice(1) as number[])];
    const out = await session.run({ [input]: new ort.Tensor("float32", zeros("float32", shape).data as Float32Array, shape) });
    return new Map(Object.entries(out).map(([k, v]) => [k, [...v.dims]]));
  };
  const [one, three] = [await run(1), await run(3)];
  await session.release();
  const shapes = new Map<string, Dims>();
  for (const [name, d1] of one) {
    const d3 = three.get(name)!;
    shapes.set(name, d1.length === d3.length ? d1.map((d, i) => (d === d3[i] ? d : null)) : d1.map(() => null));
  }
  return shapes;
}
