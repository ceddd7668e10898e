/**
 * The plain inference model with the session's current weights: the eval graph with every model tensor
 * back as an initializer under its source-model name, so the result has the source model's graph, input
 * and output names and opset, and loads anywhere ONNX does.
 */
import { UserError } from "../../errors.js";
import { cloneModel, type ModelProto } from "../../onnx/proto.js";
import { makeTensorProto, writeTensorData, type Tensor } from "../../onnx/tensor.js";
import type { ManifestLike } from "./contract.js";

export function inferenceModel(
  evalModel: ModelProto,
  manifest: ManifestLike,
  current: (stateName: string) => Tensor,
): ModelProto {
  const model = cloneModel(evalModel);
  const g = model.graph!;
  const inputs = new Set(g.input.map((v) => v.name));
  const inits = new Map(g.initializer.map((t) => [t.name, t]));
  const rename = new Map<string, string>();
  for (const s of manifest.state) {
    if (s.initializer === null) continue;
    if (inputs.has(s.name)) {
      g.input = g.input.filter((v) => v.name !== s.name);
      if (s.name !== s.initializer) rename.set(s.name, s.initializer);
      const existing = inits.get(s.initializer);
      if (existing) writeTensorData(existing, current(s.name));
      else g.initializer.push(makeTensorProto(s.initializer, current(s.name)));
    } else if (inits.has(s.initializer)) {
      writeTensorData(inits.get(s.initializer)!, current(s.name));
    }
  }
  if (rename.size) for (const n of g.node) n.input = n.input.map((i) => rename.get(i) ?? i);
  const order = manifest.source.initializers;
  if (order) {
    const rank = new Map(order.map((name, i) => [name, i]));
    g.initializer = [...g.initializer].sort(
      (a, b) => (rank.get(a.name) ?? order.length) - (rank.get(b.name) ?? order.length),
    );
  }
  // before IR 4 every initializer had to be a graph input too; the eval model is IR >= 4 and stays so then
  if (manifest.source.irVersion !== undefined && manifest.source.irVersion >= 4)
    model.irVersion = BigInt(manifest.source.irVersion);
  const leftover = g.input.map((v) => v.name).filter((n) => n !== manifest.source.inputName && !inits.has(n));
  const problems: string[] = [];
  if (leftover.length) problems.push(`inputs other than '${manifest.source.inputName}' remain: ${leftover.join(", ")}`);
  if (!g.output.some((v) => v.name === manifest.source.outputName))
    problems.push(`no output '${manifest.source.outputName}'`);
  if (problems.length) throw new UserError(`cannot export the inference model: ${problems.join("; ")}`, "eval model");
  return model;
}
