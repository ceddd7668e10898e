/**
 * Static shapes of every value of an inference graph, from two forward runs with onnxruntime-node at
 * batch sizes 1 and 3 (zeros as input). A dim that is d at batch 1 and 3d at batch 3 is the symbol "N"
 * (d = 1) or "N*d", so the engine sees equal batch dims as equal and takes its static paths (the only ones
 * before opset 13); any other changing dim is unknown (null). Conv and pooling rules need the static dims.
 */
import * as ort from "onnxruntime-node";
import { UserError } from "../../errors.js";
import type { Dims } from "../../onnx/graph-view.js";
import {
  cloneModel,
  encodeModel,
  newTensorValueInfo,
  valueInfoDims,
  valueInfoElemType,
  type ModelProto,
} from "../../onnx/proto.js";
import { dtypeFromOnnx, zeros } from "../../onnx/tensor.js";
import { ortLogSeverity } from "../ort-log.js";
import { toOrt } from "../ort-tensor.js";

/** The symbolic batch dim: values of equal symbolic dims are equal at any batch size. */
export const BATCH = "N";

/** A dim seen as d1 at batch 1 and d3 at batch 3: static, the batch times d1, or unknown. */
const batchDim = (d1: number, d3: number): number | string | null =>
  d1 === d3 ? d1 : d3 === 3 * d1 ? (d1 === 1 ? BATCH : `${BATCH}*${d1}`) : null;

export async function probeShapes(model: ModelProto, input: string, file: string): Promise<Map<string, Dims>> {
  const probe = cloneModel(model);
  const g = probe.graph!;
  const declared = g.input.find((i) => i.name === input)!;
  const dims = valueInfoDims(declared);
  const dtype = dtypeFromOnnx(valueInfoElemType(declared) ?? 0);
  const unknown = (dims ?? []).slice(1).filter((d) => typeof d !== "number");
  if (!dims || unknown.length || dtype !== "float32") {
    throw new UserError(
      `input '${input}' must be float32 with static dims after the batch dim, got ${dtype ?? "?"} [${(dims ?? []).map((d) => d ?? "?")}]`,
      file,
    );
  }
  const known = new Set(g.output.map((o) => o.name));
  for (const n of g.node)
    for (const o of n.output)
      if (o && !known.has(o)) {
        known.add(o);
        g.output.push(newTensorValueInfo(o, 0));
      }
  // ValueInfo with element type 0 is "unknown": strip the type so ORT infers it
  for (const o of g.output) if (valueInfoElemType(o) === 0) o.type = undefined;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(encodeModel(probe), { logSeverityLevel: ortLogSeverity() });
  } catch (e) {
    throw new UserError(`onnxruntime cannot load the model: ${(e as Error).message}`, file);
  }
  const run = async (batch: number) => {
    const shape = [batch, ...(dims.slice(1) as number[])];
    const out = await session.run({ [input]: toOrt(zeros("float32", shape)) });
    return new Map(Object.entries(out).map(([k, v]) => [k, [...v.dims]]));
  };
  let one: Map<string, number[]>, three: Map<string, number[]>;
  try {
    [one, three] = [await run(1), await run(3)];
  } catch (e) {
    throw new UserError(
      `onnxruntime cannot run it at batch sizes 1 and 3 (${(e as Error).message.split("\n")[0]}); is the batch size fixed inside the graph (e.g. a Reshape to [1, ...])? Re-export it with a dynamic batch axis`,
      file,
    );
  } finally {
    await session.release();
  }
  const shapes = new Map<string, Dims>([[input, [BATCH, ...dims.slice(1)]]]);
  for (const [name, d1] of one) {
    const d3 = three.get(name)!;
    shapes.set(name, d1.length === d3.length ? d1.map((d, i) => batchDim(d, d3[i]!)) : d1.map(() => null));
  }
  return shapes;
}
