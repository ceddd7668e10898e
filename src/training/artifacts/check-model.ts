/**
 * What a model needs to be trained or unlearned, checked before anything is built or run, each problem as one
 * line naming the node or output: one output (the logits), at least one weighted layer (Conv, ConvTranspose,
 * Gemm or MatMul with a weight initializer: what training changes and unlearning re-initialises), and a
 * gradient rule for every op between the parameters and the logits.
 */
import { checkDifferentiable } from "../../autograd/index.js";
import { UserError } from "../../errors.js";
import { WEIGHTED } from "../../onnx/layer-roles.js";
import { layerInventory } from "../../onnx/layers.js";
import { displayName, type ModelFile } from "../../onnx/model-io.js";
import { opsetVersion } from "../../onnx/proto.js";
import { asFloat32, firstNonFinite, readTensor } from "../../onnx/tensor.js";
import { untieModel } from "../../onnx/tied-initializers.js";
import { findParameters } from "./parameters.js";

/** Refuses a model with more than one output unless `output` names the logits. */
export function checkOutputs(model: ModelFile, output?: string): void {
  const outputs = model.proto.graph!.output.map((o) => o.name);
  if (output === undefined && outputs.length > 1)
    throw new UserError(
      `has ${outputs.length} outputs (${outputs.map((o) => `'${o}'`).join(", ")}); expected one, the logits [N,K]`,
      displayName(model),
    );
}

/** Refuses a model without a weighted layer. */
export function checkWeightedLayers(model: ModelFile): void {
  if (!layerInventory(model).layers.some((l) => WEIGHTED.has(l.op)))
    throw new UserError(
      "has no weighted layer (Conv, ConvTranspose, Gemm or MatMul with a weight initializer): nothing to train or re-initialise",
      displayName(model),
    );
}

/**
 * All of the above for the model's logits (its only output, or `output`) and its parameters (findParameters),
 * as the train and unlearn commands need before they start.
 */
export function checkTrainable(model: ModelFile, opts: { output?: string } = {}): void {
  checkOutputs(model, opts.output);
  checkWeightedLayers(model);
  const proto = untieModel(model.proto);
  const graph = proto.graph!;
  const params = findParameters(graph);
  const output = opts.output ?? graph.output[0]?.name;
  if (output && params.length)
    checkDifferentiable(graph, { loss: output, wrt: params, opset: opsetVersion(proto) ?? 0 });
}

/**
 * Refuses a model whose parameters or BatchNormalization statistics hold NaN or an infinity, naming the first
 * such tensor and element (training would carry them into every weight; the session refuses them too, later).
 */
export function checkFiniteWeights(model: ModelFile): void {
  const graph = model.proto.graph!;
  const stats = graph.node.filter((n) => n.opType === "BatchNormalization").flatMap((n) => n.input.slice(3, 5));
  const names = new Set([...findParameters(graph), ...stats]);
  for (const t of graph.initializer) {
    if (!names.has(t.name)) continue;
    const tensor = readTensor(t, { baseDir: model.dir, file: model.file });
    if (!tensor.dtype.startsWith("float")) continue;
    const v = asFloat32(tensor);
    const i = firstNonFinite(v);
    if (i >= 0)
      throw new UserError(
        `'${t.name}' holds ${v[i]} (element ${i} of ${v.length}): the weights must be finite numbers`,
        displayName(model),
      );
  }
}
