/**
 * Runs generated train-step graphs on onnxruntime-node. The session owns the state tensors (parameters,
 * optimizer state, BatchNorm statistics) between steps; each step feeds them and receives the new values
 * into pre-allocated tensors (see state-store.ts), so a step allocates nothing on the JavaScript side.
 */
import { InferenceSession, Tensor as OrtTensor } from "onnxruntime-node";
import { UserError } from "../../errors.js";
import { encodeModel } from "../../onnx/proto.js";
import type { Tensor } from "../../onnx/tensor.js";
import { saveModel } from "../../onnx/model-io.js";
import { readParameterFile, readStateFile, writeParameterFile, writeStateFile } from "./checkpoint.js";
import { Evaluator } from "./evaluator.js";
import { inferenceModel } from "./export-model.js";
import { isModelTensor, type ArtifactsLike, type ManifestLike } from "./contract.js";
import { checkInputs, inputSpec, type InputSpec } from "./input-check.js";
import {
  cudaLoadError,
  resolveOptions,
  sessionOptions,
  type ExecutionProvider,
  type ResolvedOptions,
  type TrainingSessionOptions,
} from "./options.js";
import { withInputNoise } from "./input-noise.js";
import { buildMultiStep, type MultiStepNames } from "./multi-step.js";
import { fromOrt, toOrt } from "../ort-tensor.js";
import { StateStore } from "./state-store.js";

export interface StepOptions {
  /** Also return the student's logits of this step. Default false (they are then not copied out). */
  logits?: boolean;
  /**
   * What a NaN or infinite loss, or an update that makes a state tensor NaN or infinite, does (checked unless
   * the session was made with checkLoss false): "throw" (default) a UserError, or "skip": return the reason in
   * `skipped`. Either way the state stays as it was before the step.
   */
  nonFinite?: "throw" | "skip";
}

export interface StepResult {
  loss: number;
  logits?: Tensor;
  /** Set when the step was not applied (nonFinite "skip"): what was not finite. */
  skipped?: string;
}

export class TrainingSession {
  private completed = 0;
  private busy = false;
  private readonly lr = new OrtTensor("float32", new Float32Array(1), []);
  private readonly loss = new OrtTensor("float32", new Float32Array(1), []);
  private readonly stateSum = new OrtTensor("float32", new Float32Array(1), []);
  private multi?: { session: InferenceSession; names: MultiStepNames; batch: InputSpec; targets?: InputSpec };
  /** The class-weights feed, the same every step (empty without class weights). */
  private readonly classWeights: Readonly<Record<string, OrtTensor>>;

  private constructor(
    private readonly artifacts: ArtifactsLike,
    private readonly train: InferenceSession,
    private readonly evalSession: InferenceSession,
    readonly state: StateStore,
    private readonly specs: { batch: InputSpec; targets?: InputSpec; evalBatch: InputSpec },
    /** The provider the session actually runs on (differs from the option only with fallbackToCpu). */
    readonly executionProvider: ExecutionProvider,
    private readonly options: ResolvedOptions,
  ) {
    const name = artifacts.manifest.inputs.classWeights;
    this.classWeights = name ? { [name]: toOrt(options.classWeights!) } : {};
  }

  static async create(artifacts: ArtifactsLike, options: TrainingSessionOptions = {}): Promise<TrainingSession> {
    const o = resolveOptions(options);
    const m = artifacts.manifest;
    if (o.inputNoise)
      artifacts = { ...artifacts, trainStep: withInputNoise(artifacts.trainStep, m.inputs.batch, o.inputNoise) };
    const state = new StateStore(m.state, artifacts.initialState, m.source.file);
    const graph = artifacts.trainStep.graph!;
    if (m.inputs.classWeights) {
      checkInputs(
        [{ spec: inputSpec(graph, m.inputs.classWeights, "classWeights"), tensor: o.classWeights }],
        "training session options",
      );
    } else if (o.classWeights) {
      throw new UserError(
        "classWeights given, but the train step was built without class weights",
        "training session options",
      );
    }
    const specs = {
      batch: inputSpec(graph, m.inputs.batch, "batch"),
      targets: m.inputs.targets ? inputSpec(graph, m.inputs.targets, "targets") : undefined,
      evalBatch: inputSpec(artifacts.eval.graph!, m.eval?.input ?? m.source.inputName, "batch"),
    };
    let ep = o.executionProvider;
    let sessions: [InferenceSession, InferenceSession];
    try {
      sessions = await openSessions(artifacts, o, ep);
    } catch (e) {
      if (ep !== "cuda") throw e;
      if (!o.fallbackToCpu) throw cudaLoadError(e, o.deviceId);
      process.stderr.write(
        `onnx-unlearn: warning: ${cudaLoadError(e, o.deviceId).message.split("; onnxruntime said")[0]}; running on the CPU\n`,
      );
      ep = "cpu";
      sessions = await openSessions(artifacts, o, ep);
    }
    return new TrainingSession(artifacts, sessions[0], sessions[1], state, specs, ep, o);
  }

  get manifest(): ManifestLike {
    return this.artifacts.manifest;
  }

  /** Steps the training loop runs per onnxruntime run (the stepsPerRun option). */
  get stepsPerRun(): number {
    return this.options.stepsPerRun;
  }

  /** Steps completed so far (restored by loadState). */
  get stepCount(): number {
    return this.completed;
  }

  /**
   * One optimisation step on `batch` (float32, the model's input shape) with `targets` (as the train step
   * declares them: teacher logits for MSE, int64 labels for cross-entropy; none when the teacher runs inside
   * the step) at learning rate `lr`. A NaN or infinite loss, or an update that makes a weight, momentum or
   * BatchNorm statistic NaN or infinite, throws (or with nonFinite "skip" is reported) and leaves the state as
   * it was.
   */
  async step(batch: Tensor, targets: Tensor | undefined, lr: number, opts: StepOptions = {}): Promise<StepResult> {
    const m = this.manifest;
    const where = `step ${this.completed + 1}`;
    const feeds = this.batchFeeds(this.specs, batch, targets, where);
    if (!Number.isFinite(lr)) throw new UserError(`learning rate must be a finite number, got ${lr}`, where);
    this.enter();
    try {
      (this.lr.data as Float32Array)[0] = lr;
      feeds[m.inputs.lr] = this.lr;
      const fetches: Record<string, OrtTensor | null> = { ...this.state.fetches(), [m.outputs.loss]: this.loss };
      if (m.outputs.stateSum) fetches[m.outputs.stateSum] = this.stateSum;
      const logitsName = m.outputs.logits;
      if (opts.logits) {
        if (!logitsName) throw new UserError("this train step has no logits output");
        fetches[logitsName] = null;
      }
      const out = await this.train.run(feeds, fetches);
      const loss = (this.loss.data as Float32Array)[0]!;
      if (this.options.checkLoss) {
        // the in-graph sum of the new state is finite when every value is; scan (to name the value) only when not
        const sum = m.outputs.stateSum ? (this.stateSum.data as Float32Array)[0]! : NaN;
        const bad = Number.isFinite(loss) && !Number.isFinite(sum) ? this.state.nonFiniteFetched() : undefined;
        const problem = Number.isFinite(loss) ? bad && `the update makes ${bad}` : `the loss is ${loss}`;
        if (problem && opts.nonFinite === "skip") return { loss, skipped: problem };
        if (problem) {
          throw new UserError(
            `${problem} at step ${this.completed + 1}; stopped, the state is as it was before this step (lower the learning rate?)`,
          );
        }
      }
      this.state.commit();
      this.completed++;
      const result: StepResult = { loss };
      if (opts.logits) result.logits = fromOrt(out[logitsName!]!);
      return result;
    } finally {
      this.busy = false;
    }
  }

  /**
   * K steps in one onnxruntime run (an ONNX Loop over the train step; the state stays inside the runtime
   * between them): `batches` is [K, ...batch dims], `targets` [K, ...targets dims], `lr` one rate or K rates.
   * Same numbers as K calls of step(), without the copy of every state tensor out of onnxruntime after each
   * step (onnxruntime-node copies every output into a new buffer). A NaN or infinite loss, or an update that
   * makes the state NaN or infinite, at any of the K steps throws naming the step (or with nonFinite "skip" is
   * reported in `skipped`), and leaves the state as it was before the K steps.
   */
  async stepMany(
    batches: Tensor,
    targets: Tensor | undefined,
    lr: number | readonly number[],
    opts: Pick<StepOptions, "nonFinite"> = {},
  ): Promise<{ losses: Float32Array; skipped?: string }> {
    const where = `steps ${this.completed + 1}..${this.completed + (batches.dims[0] ?? 0)}`;
    const multi = this.multi ?? (this.multi = await this.openMultiStep());
    const feeds = this.batchFeeds(multi, batches, targets, where);
    const k = batches.dims[0]!;
    const lrs = typeof lr === "number" ? new Float32Array(k).fill(lr) : Float32Array.from(lr);
    if (lrs.length !== k || !lrs.every(Number.isFinite))
      throw new UserError(
        `expected ${k} finite learning rates, got [${Array.from(lr as ArrayLike<number>).join(", ")}]`,
        where,
      );
    this.enter();
    try {
      feeds[multi.names.lrs] = new OrtTensor("float32", lrs, [k]);
      const { losses: lossName, stateSums: sumName } = multi.names;
      const fetches: Record<string, OrtTensor | null> = { ...this.state.fetches(), [lossName]: null };
      if (sumName) fetches[sumName] = null;
      const out = await multi.session.run(feeds, fetches);
      const losses = out[lossName]!.data as Float32Array;
      const problem = this.options.checkLoss
        ? this.multiStepProblem(losses, sumName ? (out[sumName]!.data as Float32Array) : undefined)
        : undefined;
      if (problem) {
        if (opts.nonFinite === "skip") return { losses, skipped: problem };
        throw new UserError(
          `${problem}; stopped, the state is as it was before step ${this.completed + 1} (lower the learning rate?)`,
        );
      }
      this.state.commit();
      this.completed += k;
      return { losses };
    } finally {
      this.busy = false;
    }
  }

  /**
   * The first of K steps whose loss, or new state's sum, is not finite ("the loss is NaN at step 7"); a train
   * step without the in-graph sum has its fetched state scanned after the K steps instead.
   */
  private multiStepProblem(losses: Float32Array, sums: Float32Array | undefined): string | undefined {
    const step = (i: number) => this.completed + i + 1;
    for (let i = 0; i < losses.length; i++) {
      if (!Number.isFinite(losses[i]!)) return `the loss is ${losses[i]} at step ${step(i)}`;
      if (sums && !Number.isFinite(sums[i]!)) return `the update makes the state non-finite at step ${step(i)}`;
    }
    const bad = sums ? undefined : this.state.nonFiniteFetched();
    return bad && `the update makes ${bad} in steps ${step(0)}..${step(losses.length - 1)}`;
  }

  private async openMultiStep() {
    const { model, names } = buildMultiStep(this.artifacts.trainStep, this.manifest);
    const session = await InferenceSession.create(
      encodeModel(model),
      sessionOptions(this.options, this.executionProvider),
    );
    return {
      session,
      names,
      batch: inputSpec(model.graph!, names.batches, "batches"),
      targets: names.targets ? inputSpec(model.graph!, names.targets, "targets") : undefined,
    };
  }

  /** Logits of the model with the current weights (BatchNorm in inference mode). */
  async evaluate(batch: Tensor): Promise<Tensor> {
    checkInputs([{ spec: this.specs.evalBatch, tensor: batch }], "evaluate");
    this.enter();
    try {
      const io = this.manifest.eval ?? {
        input: this.manifest.source.inputName,
        output: this.manifest.source.outputName,
      };
      const feeds: Record<string, OrtTensor> = { [io.input]: toOrt(batch) };
      const current = this.state.feeds();
      for (const name of this.evalSession.inputNames) if (Object.hasOwn(current, name)) feeds[name] = current[name]!;
      const out = await this.evalSession.run(feeds, [io.output]);
      return fromOrt(out[io.output]!);
    } finally {
      this.busy = false;
    }
  }

  /** Model tensors (parameters and BatchNorm statistics) under their names in the source model; copies. */
  getParameters(): Map<string, Tensor> {
    return new Map(this.manifest.state.filter(isModelTensor).map((s) => [s.initializer!, this.state.get(s.name)]));
  }

  /** Overwrites model tensors given under their source-model names (a subset is fine). */
  setParameters(values: Map<string, Tensor>, what = "parameters"): void {
    const byInit = new Map(this.manifest.state.filter(isModelTensor).map((s) => [s.initializer!, s.name]));
    const unknown = [...values.keys()].filter((k) => !byInit.has(k));
    if (unknown.length)
      throw new UserError(`not tensors of this model: ${unknown.map((k) => `'${k}'`).join(", ")}`, what);
    this.state.set(new Map([...values].map(([k, t]) => [byInit.get(k)!, t])), what);
  }

  /** Every state tensor (model and optimizer) under its state name; copies. */
  getState(): Map<string, Tensor> {
    return new Map(this.manifest.state.map((s) => [s.name, this.state.get(s.name)]));
  }

  setState(values: Map<string, Tensor>, stepCount?: number, what = "state"): void {
    this.state.set(values, what);
    if (stepCount !== undefined) this.completed = stepCount;
  }

  /**
   * Writes every state tensor (model and optimizer) and the step count as safetensors, atomically, with
   * `metadata` (string values; format, step and source are the file's own) in its header.
   */
  saveState(path: string, metadata: Record<string, string> = {}): void {
    writeStateFile(path, this.getState(), this.completed, this.manifest.source.file, metadata);
  }

  /**
   * Restores a file written by saveState and returns its metadata; a file from another model is refused with
   * every mismatch named, one holding NaN or an infinity naming the tensor.
   */
  loadState(path: string): Record<string, string> {
    const { state, stepCount, metadata } = readStateFile(path, this.manifest.state);
    this.setState(state, stepCount, path);
    return metadata;
  }

  /** Writes the model tensors under the source model's names (a PyTorch-style state_dict) as safetensors. */
  saveParameters(path: string): void {
    writeParameterFile(path, this.getParameters(), this.manifest.source.file);
  }

  /** Loads a parameter file (ours, or a safetensors state_dict with this model's names; num_batches_tracked ignored). */
  loadParameters(path: string): void {
    this.setParameters(readParameterFile(path, this.manifest.state), path);
  }

  /** The source model's inference graph with the current weights. */
  inferenceModel() {
    return inferenceModel(this.artifacts.eval, this.manifest, (name) => this.state.get(name));
  }

  /** A frozen snapshot of the current model for bulk inference (faster than evaluate; see evaluator.ts). */
  async createEvaluator(): Promise<Evaluator> {
    const m = this.manifest;
    return Evaluator.create(
      this.inferenceModel(),
      { input: m.source.inputName, output: m.source.outputName },
      sessionOptions(this.options, this.executionProvider),
    );
  }

  /** Writes inferenceModel() to `path` (same graph, input/output names and opset as the source model). */
  exportInferenceModel(path: string): void {
    saveModel(this.inferenceModel(), path);
  }

  async release(): Promise<void> {
    await this.train.release();
    await this.evalSession.release();
    await this.multi?.session.release();
  }

  /**
   * Checks a step's batch and targets against the train step's inputs (every problem at once) and returns
   * the feeds without the learning rate: the state, the class weights, the batch and the targets.
   */
  private batchFeeds(
    specs: { batch: InputSpec; targets?: InputSpec },
    batch: Tensor,
    targets: Tensor | undefined,
    where: string,
  ): Record<string, OrtTensor> {
    const given: { spec: InputSpec; tensor: Tensor | undefined }[] = [{ spec: specs.batch, tensor: batch }];
    if (specs.targets) given.push({ spec: specs.targets, tensor: targets });
    else if (targets) throw new UserError("this train step takes no targets (the teacher runs inside it)", where);
    checkInputs(given, where);
    const feeds = { ...this.state.feeds(), ...this.classWeights, [specs.batch.name]: toOrt(batch) };
    if (specs.targets) feeds[specs.targets.name] = toOrt(targets!);
    return feeds;
  }

  private enter(): void {
    if (this.busy) throw new Error("TrainingSession: step/evaluate called while another is running; await each call");
    this.busy = true;
  }
}

async function openSessions(
  a: ArtifactsLike,
  o: ResolvedOptions,
  ep: ExecutionProvider,
): Promise<[InferenceSession, InferenceSession]> {
  const opts = sessionOptions(o, ep);
  const train = await InferenceSession.create(encodeModel(a.trainStep), opts);
  try {
    return [train, await InferenceSession.create(encodeModel(a.eval), opts)];
  } catch (e) {
    await train.release();
    throw e;
  }
}
