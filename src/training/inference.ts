/**
 * Runs a plain inference model (an ONNX classifier as users bring it, or one we exported) on batches.
 * The facade evaluation/ and cli/ use, so that onnxruntime stays inside training/.
 */
import { InferenceSession } from "onnxruntime-node";
import { UserError } from "../errors.js";
import { modelBytes, type ModelFile } from "../onnx/model-io.js";
import type { Tensor } from "../onnx/tensor.js";
import { fromOrt, toOrt } from "./ort-tensor.js";
import { cudaLoadError, resolveOptions, sessionOptions, type TrainingSessionOptions } from "./session/options.js";

export type InferenceOptions = Pick<
  TrainingSessionOptions,
  "executionProvider" | "deviceId" | "intraOpThreads" | "graphOptimizationLevel"
>;

export class InferenceModel {
  private constructor(
    private readonly session: InferenceSession,
    readonly inputName: string,
    readonly outputName: string,
    private readonly file: string,
  ) {}

  /** Opens `model`; its first graph input that is not an initializer is the batch, its first output the logits. */
  static async create(model: ModelFile, options: InferenceOptions = {}): Promise<InferenceModel> {
    const o = resolveOptions(options);
    const g = model.proto.graph!;
    const inits = new Set(g.initializer.map((t) => t.name));
    const input = g.input.find((i) => !inits.has(i.name));
    if (!input || g.output.length === 0) throw new UserError("has no data input or no output", model.file);
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(modelBytes(model), sessionOptions(o, o.executionProvider));
    } catch (e) {
      if (o.executionProvider === "cuda") throw cudaLoadError(e, o.deviceId);
      throw new UserError(`onnxruntime cannot load the model: ${(e as Error).message.split("\n")[0]}`, model.file);
    }
    return new InferenceModel(session, input.name, g.output[0]!.name, model.file);
  }

  /** Logits for a float32 batch [N, C, H, W]. */
  async run(batch: Tensor): Promise<Tensor> {
    let out;
    try {
      out = await this.session.run({ [this.inputName]: toOrt(batch) }, [this.outputName]);
    } catch (e) {
      throw new UserError(`batch of shape [${batch.dims}] rejected: ${(e as Error).message.split("\n")[0]}`, this.file);
    }
    return fromOrt(out[this.outputName]!);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
