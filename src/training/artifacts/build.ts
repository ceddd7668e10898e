/**
 * Builds the training artifacts of an inference model: the train-step model (training-mode forward, loss,
 * backward, optimizer update, BN running-stat update), the eval model, the initial state and the manifest.
 * See docs/artifacts.md for the file formats and every decision.
 */
import { UserError } from "../../errors.js";
import { appendBackward, checkDifferentiable } from "../../autograd/engine.js";
import { GraphBuilder } from "../../onnx/builder.js";
import { GraphView, type Dims } from "../../onnx/graph-view.js";
import { displayName, readInitializers, type ModelFile } from "../../onnx/model-io.js";
import {
  cloneModel,
  DataLocation,
  DataType,
  newTensorValueInfo,
  opsetVersion,
  valueInfoDims,
  valueInfoElemType,
  type GraphProto,
  type ModelProto,
} from "../../onnx/proto.js";
import { readTensor, writeTensorData, type Tensor } from "../../onnx/tensor.js";
import { untieModel } from "../../onnx/tied-initializers.js";
import { Emitter } from "./emit.js";
import { appendLoss, LOSS_KINDS, type LossKind } from "./losses.js";
import { MANIFEST_VERSION, type Manifest, type StateEntry } from "./manifest.js";
import {
  ADAMW_DEFAULTS,
  appendOptimizer,
  OPTIMIZER_KINDS,
  SGD_DEFAULTS,
  type AdamWHyper,
  type OptimizerKind,
  type SgdHyper,
} from "./optimizers.js";
import { checkOutputs } from "./check-model.js";
import { checkParameters, findBatchNormStats, findParameters, type BatchNormStats } from "./parameters.js";
import { BATCH, probeShapes } from "./probe.js";
import { embedTeacher } from "./teacher.js";
import { lowerSmallConvs } from "./dense-convs.js";
import { foldConvs, planFoldedConvs } from "./fold-convs.js";
import { planSharedIm2col, shareIm2col } from "./shared-im2col.js";
import { eliminateCommonSubexpressions } from "../../onnx/common-subexpressions.js";
import { toTrainingMode, type BatchNormForm } from "./train-mode.js";

export interface BuildOptions {
  loss: LossKind;
  /** Default "sgd". */
  optimizer?: OptimizerKind;
  /** Overrides of SGD_DEFAULTS / ADAMW_DEFAULTS (by the chosen optimizer). */
  hyper?: Partial<SgdHyper> | Partial<AdamWHyper>;
  /** Embed the frozen original model as the MSE target (loss "mse" only). Default false. */
  teacher?: boolean;
  /** Add a class-weights input [K] (loss "ce"/"neg-ce" only). Default false. */
  classWeights?: boolean;
  /** Run the student's convs on tiny maps as dense Gemms (see dense-convs.ts). Default true. */
  denseConvs?: boolean;
  /** Run the student's forward convs that onnxruntime would split into tiny per-sample GEMMs with the batch
   *  folded into depth (see fold-convs.ts). Default true. */
  foldConvs?: boolean;
  /** Compute the student's strided forward convs from the im2col columns their weight gradient builds (see
   *  shared-im2col.ts). Default true. */
  sharedIm2col?: boolean;
  /** Training-mode BatchNormalization form (see train-mode.ts). Default "node". */
  batchNorm?: BatchNormForm;
  /** Parameters to train; default: every parameter findParameters finds. */
  parameters?: string[];
  /** Also output every parameter's gradient (for verification). Default false. */
  gradients?: boolean;
  /** Base seed of training-mode Dropout. Default 0. */
  dropoutSeed?: number;
  /** Model input (the batch) and output (the logits); default: the only non-initializer input, the first output. */
  input?: string;
  output?: string;
}

export interface Artifacts {
  trainStep: ModelProto;
  eval: ModelProto;
  initialState: Map<string, Tensor>;
  manifest: Manifest;
}

export const FILES = {
  trainStep: "train_step.onnx",
  eval: "eval.onnx",
  state: "state.safetensors",
  manifest: "manifest.json",
} as const;

/**
 * Builds the artifacts; runs the source model twice on zeros (probeShapes) to learn static shapes. Initializers
 * the exporter tied with Identity nodes are untied first (each trains, and is written back, under its own name).
 */
export async function buildArtifacts(source: ModelFile, opts: BuildOptions): Promise<Artifacts> {
  const model: ModelFile = { ...source, proto: untieModel(source.proto) };
  const src = await inspectSource(model, opts);
  const { file, opset, input, output, params, bnStats, statNames, initial, shapes, numClasses } = src;
  const optimizer = opts.optimizer ?? "sgd";
  const hyper = { ...(optimizer === "sgd" ? SGD_DEFAULTS : ADAMW_DEFAULTS), ...opts.hyper } as SgdHyper | AdamWHyper;
  const trainStep = inlined(model);
  const tg = trainStep.graph!;
  let b = new GraphBuilder(tg);
  const stateInputs = [...params, ...statNames];
  const trainBatchNorms = findBatchNormStats(tg); // before the statistics stop being initializers
  moveToInputs(tg, stateInputs, initial);
  tg.output = [];
  const outputName = (s: string) => b.unique(`${s}.new`);
  const lr = b.addInput(b.unique("lr"), "float32", []);
  const targets = opts.teacher
    ? null
    : opts.loss === "mse"
      ? b.addInput(b.unique("targets"), "float32", [BATCH, numClasses])
      : b.addInput(b.unique("labels"), "int64", [BATCH]);
  const classWeights = opts.classWeights ? b.addInput(b.unique("class_weights"), "float32", [numClasses]) : null;
  const bnUpdates = toTrainingMode(b, {
    opset,
    shapes,
    batchNorms: trainBatchNorms,
    batchNorm: opts.batchNorm,
    dropoutSeed: opts.dropoutSeed,
    outputName,
  });
  const denseConvs =
    opts.denseConvs === false ? [] : lowerSmallConvs(b, { shapes, weightDims: (v) => initial.get(v)?.dims });
  const foldPlans =
    opts.foldConvs === false
      ? []
      : planFoldedConvs(tg.node, { shapes, weightDims: (v) => initial.get(v)?.dims, opset });
  const im2colPlans =
    opts.sharedIm2col === false ? [] : planSharedIm2col(tg.node, { shapes, weightDims: (v) => initial.get(v)?.dims });
  let teacherLogits: string | null = null;
  if (opts.teacher) {
    const teacher = embedTeacher(b, { source: inlined(model).graph!, input, output, file });
    for (const [name, copy] of teacher.renamed) if (shapes.has(name)) shapes.set(copy, shapes.get(name)!);
    teacherLogits = teacher.logits;
  }
  const loss = appendLoss(new Emitter(b, opset, "loss"), {
    kind: opts.loss,
    logits: output,
    targets: teacherLogits ?? targets!,
    classWeights: classWeights ?? undefined,
    numClasses,
    output: b.unique("loss"),
    shapes,
  });
  const grads = appendBackward(tg, { loss, wrt: params, opset, shapes });
  b = new GraphBuilder(tg); // sees the names the engine added
  const foldedConvs = foldConvs(b, foldPlans);
  const sharedIm2col = shareIm2col(b, im2colPlans);
  const opt = appendOptimizer(new Emitter(b, opset, optimizer), {
    kind: optimizer,
    hyper,
    lr,
    outputName,
    params: params.map((name) => ({ name, grad: grads.get(name)!, dims: initial.get(name)!.dims })),
  });

  const state: StateEntry[] = [
    ...params.map((name) => entry(name, "param", name, null, initial.get(name)!, opt.paramUpdates.get(name)!, true)),
    ...bnStats.flatMap((s) => [
      entry(s.mean, "bn_running_mean", s.mean, null, initial.get(s.mean)!, bnUpdates.get(s.mean)!, true),
      entry(s.variance, "bn_running_var", s.variance, null, initial.get(s.variance)!, bnUpdates.get(s.variance)!, true),
    ]),
    ...opt.state.map((s) => entry(s.name, s.role, null, s.param, s.initial, s.output, false)),
  ];
  for (const s of opt.state) b.addInput(s.name, "float32", s.initial.dims);
  b.addOutput(loss, "float32", []);
  b.addOutput(output, "float32", [BATCH, numClasses]);
  if (teacherLogits) b.addOutput(teacherLogits, "float32", [BATCH, numClasses]);
  for (const s of state) b.addOutput(s.output, "float32", s.dims);
  const stateSum = appendStateCheck(
    new Emitter(b, opset, "state_check"),
    state.filter((s) => !opt.impliedFinite.has(s.output)),
  );
  b.addOutput(stateSum, "float32", []);
  const gradOutputs = opts.gradients ? exposeGradients(b, params, grads, initial) : null;
  tg.node = new GraphView(tg).topoOrder();
  eliminateCommonSubexpressions(tg);
  if (trainStep.irVersion < 4n) trainStep.irVersion = 4n;

  const evalModel = inlined(model);
  moveToInputs(evalModel.graph!, stateInputs, initial);
  if (evalModel.irVersion < 4n) evalModel.irVersion = 4n;

  const initialState = new Map<string, Tensor>();
  for (const s of params.concat(statNames)) initialState.set(s, initial.get(s)!);
  for (const s of opt.state) initialState.set(s.name, s.initial);

  const manifest: Manifest = {
    version: MANIFEST_VERSION,
    source: {
      file,
      inputName: input,
      outputName: output,
      opset,
      irVersion: Number(model.proto.irVersion),
      numClasses,
      initializers: model.proto.graph!.initializer.map((t) => t.name),
    },
    loss: opts.loss,
    optimizer,
    teacher: !!opts.teacher,
    batchNorm: opset < 14 ? "decomposed" : (opts.batchNorm ?? "node"),
    hyper: { ...hyper, dropoutSeed: opts.dropoutSeed ?? 0 },
    inputs: { batch: input, targets, lr, classWeights },
    outputs: { loss, logits: output, teacherLogits, gradients: gradOutputs, stateSum },
    eval: { input, output },
    files: { trainStep: FILES.trainStep, eval: FILES.eval, state: FILES.state },
    nodes: { source: src.nodes, trainStep: tg.node.length, eval: evalModel.graph!.node.length },
    denseConvs,
    foldedConvs,
    sharedIm2col,
    state,
  };
  return { trainStep, eval: evalModel, initialState, manifest };
}

interface SourceModel {
  file: string;
  opset: number;
  input: string;
  output: string;
  params: string[];
  bnStats: BatchNormStats[];
  /** BN running means and variances, in node order. */
  statNames: string[];
  initial: Map<string, Tensor>;
  /** probeShapes of every value, with the symbolic batch dim. */
  shapes: Map<string, Dims>;
  numClasses: number;
  nodes: number;
}

/** Validates the options and the model; finds its input, output, parameters, BN statistics and shapes. */
async function inspectSource(model: ModelFile, opts: BuildOptions): Promise<SourceModel> {
  const file = displayName(model);
  checkOptions(opts, file);
  const opset = opsetVersion(model.proto);
  if (opset === undefined) throw new UserError("imports no ai.onnx opset", file);
  const graph = model.proto.graph!;
  checkOutputs(model, opts.output);
  const { input, output } = ioNames(graph, opts, file);
  const params = opts.parameters ?? findParameters(graph);
  if (opts.parameters) checkParameters(graph, params, file);
  if (params.length === 0)
    throw new UserError(
      "has no float parameters to train (no float initializer feeds a Conv/Gemm/MatMul/normalization weight or an elementwise op)",
      file,
    );
  const bnStats = findBatchNormStats(graph);
  const initial = readInitializers(model);
  const statNames = bnStats.flatMap((s) => [s.mean, s.variance]);
  const problems = [
    ...statNames
      .filter((n) => initial.get(n)!.dtype !== "float32")
      .map((n) => `BatchNormalization statistic '${n}' is not float32`),
    ...params
      .filter((p) => statNames.includes(p))
      .map((p) => `'${p}' is a BatchNormalization statistic, not a parameter`),
  ];
  if (problems.length) throw new UserError(problems.join("; "), file);
  // before the probe runs anything: every op between the parameters and the logits needs a gradient rule
  checkDifferentiable(graph, { loss: output, wrt: params, opset });
  const shapes = await probeShapes(inlined(model), input, file);
  const outputDims = shapes.get(output)!;
  const numClasses = outputDims.at(-1);
  if (outputDims.length !== 2 || typeof numClasses !== "number")
    throw new UserError(`output '${output}' must be logits [N,K], got [${outputDims.map((d) => d ?? "?")}]`, file);
  return {
    file,
    opset,
    input,
    output,
    params,
    bnStats,
    statNames,
    initial,
    shapes,
    numClasses,
    nodes: graph.node.length,
  };
}

function checkOptions(opts: BuildOptions, file: string): void {
  const problems: string[] = [];
  if (!LOSS_KINDS.includes(opts.loss)) problems.push(`loss '${opts.loss}' is not one of ${LOSS_KINDS.join(", ")}`);
  if (opts.optimizer !== undefined && !OPTIMIZER_KINDS.includes(opts.optimizer))
    problems.push(`optimizer '${opts.optimizer}' is not one of ${OPTIMIZER_KINDS.join(", ")}`);
  if (opts.teacher && opts.loss !== "mse")
    problems.push("the teacher variant needs loss 'mse' (the teacher's logits are its targets)");
  if (opts.classWeights && opts.loss === "mse") problems.push("class weights need loss 'ce' or 'neg-ce'");
  if (opts.batchNorm !== undefined && opts.batchNorm !== "node" && opts.batchNorm !== "decomposed")
    problems.push(`batchNorm '${opts.batchNorm}' is not 'node' or 'decomposed'`);
  if (problems.length) throw new UserError(`cannot build training artifacts: ${problems.join("; ")}`, file);
}

function ioNames(graph: GraphProto, opts: BuildOptions, file: string): { input: string; output: string } {
  const inits = new Set(graph.initializer.map((t) => t.name));
  const inputs = graph.input.map((i) => i.name).filter((n) => !inits.has(n));
  const outputs = graph.output.map((o) => o.name);
  const input = opts.input ?? (inputs.length === 1 ? inputs[0] : undefined);
  const output = opts.output ?? outputs[0];
  const problems: string[] = [];
  if (input === undefined) problems.push(`cannot tell the batch input among [${inputs.join(", ")}]; name it`);
  else if (!inputs.includes(input)) problems.push(`has no input '${input}' (inputs: ${inputs.join(", ")})`);
  if (output === undefined || !outputs.includes(output))
    problems.push(`has no output '${output}' (outputs: ${outputs.join(", ")})`);
  else if (graph.output.find((o) => o.name === output)?.type?.value.case === "tensorType") {
    const t = graph.output.find((o) => o.name === output)!.type!.value.value as { elemType: number };
    if (t.elemType !== DataType.FLOAT)
      problems.push(`output '${output}' is ${DataType[t.elemType]}, expected FLOAT logits`);
  }
  if (problems.length) throw new UserError(problems.join("; "), file);
  return { input: input!, output: output! };
}

/**
 * A copy of the model with every initializer's data inside the file (external data read in) and a batch
 * dim free to vary: an export with a fixed batch (input [1,C,H,W]) declares it symbolic ("N") on its
 * input and outputs, and its value_info (which would pin the old batch) is dropped.
 */
export function inlined(model: ModelFile): ModelProto {
  const copy = cloneModel(model.proto);
  const g = copy.graph!;
  for (const t of g.initializer) {
    if (t.dataLocation === DataLocation.EXTERNAL)
      writeTensorData(t, readTensor(t, { baseDir: model.dir, file: model.file }));
  }
  const inits = new Set(g.initializer.map((t) => t.name));
  const io = [...g.input.filter((v) => !inits.has(v.name)), ...g.output];
  const fixed = io.filter((v) => typeof valueInfoDims(v)?.[0] === "number");
  if (fixed.length) {
    for (const v of fixed) {
      const dims = valueInfoDims(v)!;
      const relaxed = newTensorValueInfo(v.name, valueInfoElemType(v)!, [BATCH, ...dims.slice(1)]);
      v.type = relaxed.type;
    }
    g.valueInfo = [];
  }
  return copy;
}

/** Turns initializers into graph inputs of the same name, dtype and dims. */
function moveToInputs(g: GraphProto, names: string[], values: Map<string, Tensor>): void {
  const set = new Set(names);
  g.initializer = g.initializer.filter((t) => !set.has(t.name));
  g.input = g.input.filter((i) => !set.has(i.name));
  const b = new GraphBuilder(g);
  for (const n of names) b.addInput(n, values.get(n)!.dtype, values.get(n)!.dims);
}

function entry(
  name: string,
  role: StateEntry["role"],
  initializer: string | null,
  param: string | null,
  t: Tensor,
  output: string,
  inEval: boolean,
): StateEntry {
  return { name, role, initializer, param, dtype: t.dtype, dims: [...t.dims], output, eval: inEval };
}

/**
 * One scalar the session checks instead of scanning every new state value in JavaScript (~20 ms per step for
 * ResNet-18's 23M floats): NaN or infinite exactly when some checked value is (or the sum overflows, which the
 * session tells apart by scanning only then). The 1-D values (biases, scales, BN statistics: most of the state
 * by count) are summed as one concatenation.
 */
function appendStateCheck(check: Emitter, checked: StateEntry[]): string {
  const oneD = checked.filter((s) => s.dims.length === 1).map((s) => s.output);
  const whole = oneD.length >= 2 ? [check.concat(oneD)] : oneD;
  const others = checked.filter((s) => s.dims.length !== 1).map((s) => s.output);
  const sums = [...whole, ...others].map((v) => check.reduce("ReduceSum", v, undefined, false));
  return check.opTo(check.b.unique("state_sum"), "Sum", sums);
}

/** Adds each parameter's gradient as an output `gradients/<param>`; returns param -> output name. */
function exposeGradients(
  b: GraphBuilder,
  params: string[],
  grads: Map<string, string>,
  values: Map<string, Tensor>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of params) {
    out[p] = b.node("Identity", [grads.get(p)!], { name: `gradients/${p}`, outputs: [b.unique(`gradients/${p}`)] })[0]!;
    b.addOutput(out[p], "float32", values.get(p)!.dims);
  }
  return out;
}
