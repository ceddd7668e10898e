/**
 * K train steps in one session.run: the train step becomes the body of an ONNX Loop whose carried values
 * are the state tensors, so between steps the state stays inside onnxruntime (on CUDA: on the device) instead
 * of crossing to JavaScript and back every step. The loop reads step k's batch, targets and learning rate
 * from [K, ...] inputs and collects the K losses (and, when the step has one, the K sums of its new state: the
 * same finite-state check as a single step's). K is the batches' first dimension, so one model serves any K.
 */
import { UserError } from "../../errors.js";
import { GraphBuilder } from "../../onnx/builder.js";
import {
  newGraph,
  newModel,
  newNode,
  newTensorValueInfo,
  valueInfoDims,
  valueInfoElemType,
  type ModelProto,
  type NodeProto,
} from "../../onnx/proto.js";
import { makeAttribute } from "../../onnx/attributes.js";
import { int64, onnxFromDtype } from "../../onnx/tensor.js";
import type { ManifestLike } from "./contract.js";

export interface MultiStepNames {
  /** [K, ...batch dims] */
  batches: string;
  /** [K, ...targets dims], or null when the step has no targets input. */
  targets: string | null;
  /** float32 [K]: the learning rate of each step. */
  lrs: string;
  /** float32 [K]: the loss of each step. */
  losses: string;
  /** float32 [K]: the sum of each step's new state (finite when every value is), or null without the check. */
  stateSums: string | null;
}

const BODY = "step/";

export function buildMultiStep(
  trainStep: ModelProto,
  manifest: ManifestLike,
): { model: ModelProto; names: MultiStepNames } {
  const src = trainStep.graph!;
  const nested = src.node.filter((n) => n.attribute.some((a) => a.g || a.graphs.length));
  if (nested.length)
    throw new UserError(
      `K steps per run need a train step without control flow (found ${nested.map((n) => n.opType).join(", ")})`,
    );
  const names: MultiStepNames = {
    batches: "multi_step/batches",
    targets: manifest.inputs.targets ? "multi_step/targets" : null,
    lrs: "multi_step/lrs",
    losses: "multi_step/losses",
    stateSums: manifest.outputs.stateSum ? "multi_step/state_sums" : null,
  };
  // Other inputs (class weights) are the same every step: outer inputs the body reads by their own name.
  const own = new Set([
    manifest.inputs.batch,
    manifest.inputs.targets,
    manifest.inputs.lr,
    ...manifest.state.map((s) => s.name),
  ]);
  const passThrough = src.input.filter((v) => !own.has(v.name));
  const outerNames = new Set(passThrough.map((v) => v.name));
  const r = (name: string) => (name === "" || outerNames.has(name) ? name : `${BODY}${name}`);
  const inputInfo = (name: string) => src.input.find((v) => v.name === name)!;

  const body = newGraph({ name: "train_step_body" });
  body.input.push(
    newTensorValueInfo(r("iter"), onnxFromDtype("int64"), []),
    newTensorValueInfo(r("cond_in"), onnxFromDtype("bool"), []),
  );
  for (const s of manifest.state) body.input.push(newTensorValueInfo(r(s.name), onnxFromDtype(s.dtype), s.dims));
  const gather = (outer: string, inner: string) =>
    body.node.push(
      newNode({
        opType: "Gather",
        name: `${BODY}gather/${inner}`,
        input: [outer, r("iter")],
        output: [r(inner)],
        attribute: [makeAttribute("axis", 0)],
      }),
    );
  gather(names.batches, manifest.inputs.batch);
  if (names.targets) gather(names.targets, manifest.inputs.targets!);
  gather(names.lrs, manifest.inputs.lr);
  body.node.push(newNode({ opType: "Identity", name: `${BODY}cond`, input: [r("cond_in")], output: [r("cond_out")] }));
  for (const n of src.node)
    body.node.push(newNode({ ...n, name: r(n.name || n.output[0]!), input: n.input.map(r), output: n.output.map(r) }));
  for (const t of src.initializer) body.initializer.push({ ...t, name: r(t.name) });
  for (const v of src.valueInfo) body.valueInfo.push({ ...v, name: r(v.name) });
  body.output.push(newTensorValueInfo(r("cond_out"), onnxFromDtype("bool"), []));
  for (const s of manifest.state) body.output.push(newTensorValueInfo(r(s.output), onnxFromDtype(s.dtype), s.dims));
  body.output.push(newTensorValueInfo(r(manifest.outputs.loss), onnxFromDtype("float32"), []));
  if (names.stateSums)
    body.output.push(newTensorValueInfo(r(manifest.outputs.stateSum!), onnxFromDtype("float32"), []));
  // The single step's other outputs (logits) are not the loop's: their nodes go.
  const needed = new Set(body.output.map((o) => o.name));
  const kept: NodeProto[] = [];
  for (const n of [...body.node].reverse()) {
    if (!n.output.some((o) => needed.has(o))) continue;
    kept.push(n);
    for (const i of n.input) needed.add(i);
  }
  body.node = kept.reverse();

  const outer = newGraph({ name: `${src.name || "train_step"}_multi_step` });
  const b = new GraphBuilder(outer);
  const stacked = (name: string, from: string) => {
    const vi = inputInfo(from);
    outer.input.push(newTensorValueInfo(name, valueInfoElemType(vi)!, ["K", ...(valueInfoDims(vi) ?? [])]));
  };
  stacked(names.batches, manifest.inputs.batch);
  if (names.targets) stacked(names.targets, manifest.inputs.targets!);
  outer.input.push(newTensorValueInfo(names.lrs, onnxFromDtype("float32"), ["K"]));
  outer.input.push(...passThrough);
  for (const s of manifest.state) outer.input.push(newTensorValueInfo(s.name, onnxFromDtype(s.dtype), s.dims));
  const k = b.op(
    "Gather",
    [b.op("Shape", [names.lrs], undefined, "multi_step/shape"), b.constant("multi_step/axis0", int64([], [0]))],
    { axis: 0 },
    "multi_step/k",
  );
  b.node("Loop", [k, "", ...manifest.state.map((s) => s.name)], {
    name: "multi_step/loop",
    outputs: [...manifest.state.map((s) => s.output), names.losses, ...(names.stateSums ? [names.stateSums] : [])],
    attrs: { body },
  });
  for (const s of manifest.state) outer.output.push(newTensorValueInfo(s.output, onnxFromDtype(s.dtype), s.dims));
  outer.output.push(newTensorValueInfo(names.losses, onnxFromDtype("float32"), ["K"]));
  if (names.stateSums) outer.output.push(newTensorValueInfo(names.stateSums, onnxFromDtype("float32"), ["K"]));
  return {
    model: newModel({ irVersion: trainStep.irVersion, opsetImport: trainStep.opsetImport, graph: outer }),
    names,
  };
}
