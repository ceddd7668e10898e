/**
 * What a TrainingSession needs from the training artifacts (src/training/artifacts builds them; the manifest
 * is described in .agents/AUTOGRAD-API.md). Declared structurally so that any object with these fields works,
 * including a hand-built train step in tests.
 */
import type { ModelProto } from "../../onnx/proto.js";
import type { DType, Tensor } from "../../onnx/tensor.js";

export interface StateSpec {
  /** Input name of the state tensor in the train step (and in the eval model, where it is an input). */
  name: string;
  /** "param", "momentum", "bn_running_mean", "bn_running_var", "step", ... */
  role: string;
  /** Initializer of the source model this tensor came from; null for optimizer state. */
  initializer: string | null;
  dtype: DType;
  dims: number[];
  /** Train-step output holding the updated value. */
  output: string;
}

export interface ManifestLike {
  source: {
    file?: string;
    inputName: string;
    outputName: string;
    opset: number;
    irVersion?: number;
    initializers?: string[];
  };
  /** Train-step inputs besides the state; targets is null when the teacher runs inside the step. */
  inputs: { batch: string; targets?: string | null; lr: string; classWeights?: string | null };
  outputs: { loss: string; logits?: string | null; stateSum?: string };
  /** Input and output names of the eval model (default: the source's). */
  eval?: { input: string; output: string };
  state: StateSpec[];
}

export interface ArtifactsLike {
  trainStep: ModelProto;
  /** Inference graph taking the batch (and the state it reads, as inputs) and giving the logits. */
  eval: ModelProto;
  initialState: Map<string, Tensor>;
  manifest: ManifestLike;
}

/** Roles that belong to the model (exported, saved as "parameters"); the rest is optimizer state. */
export const isModelTensor = (s: StateSpec): boolean => s.initializer !== null;
