/**
 * A frozen snapshot of the session's model for bulk inference: the exported inference graph (weights as
 * initializers) in its own onnxruntime session. onnxruntime then folds BatchNormalization into the convs,
 * which it cannot do for `evaluate` (weights fed as inputs): 2-2.4x faster per batch for ResNet-18 at
 * batch 256 (docs/PERFORMANCE.md). Later steps do not change a snapshot; make a new one.
 */
import { InferenceSession } from "onnxruntime-node";
import { encodeModel, type ModelProto } from "../../onnx/proto.js";
import type { Tensor } from "../../onnx/tensor.js";
import { fromOrt, toOrt } from "../ort-tensor.js";
import { checkInputs, inputSpec, type InputSpec } from "./input-check.js";

export class Evaluator {
  private constructor(
    private readonly session: InferenceSession,
    private readonly input: InputSpec,
    private readonly output: string,
  ) {}

  static async create(
    model: ModelProto,
    io: { input: string; output: string },
    options: InferenceSession.SessionOptions,
  ): Promise<Evaluator> {
    const session = await InferenceSession.create(encodeModel(model), options);
    return new Evaluator(session, inputSpec(model.graph!, io.input, "batch"), io.output);
  }

  /** Logits of the snapshot's model for `batch`. */
  async evaluate(batch: Tensor): Promise<Tensor> {
    checkInputs([{ spec: this.input, tensor: batch }], "evaluator");
    const out = await this.session.run({ [this.input.name]: toOrt(batch) }, [this.output]);
    return fromOrt(out[this.output]!);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
