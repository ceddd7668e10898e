/**
 * Shared by the artifacts tests: a tiny elementwise classifier (logits = x * w + b, x [N,K], w and b [K]),
 * whose gradients are easy to write by hand, and a runner that feeds a train step with onnxruntime-node.
 */
import * as ort from "onnxruntime-node";
import { GraphBuilder } from "../../../src/onnx/builder.js";
import { loadModel, type ModelFile } from "../../../src/onnx/model-io.js";
import { encodeModel, newGraph, newModel, newOpset, type ModelProto } from "../../../src/onnx/proto.js";
import { float32, type Tensor } from "../../../src/onnx/tensor.js";
import type { Manifest } from "../../../src/training/artifacts/index.js";
import { fromOrt, toOrt } from "../../../src/training/ort-tensor.js";

export function tinyModel(w: number[], b: number[], opset = 17): ModelFile {
  const k = w.length;
  return modelOf((g) => {
    g.addInput("x", "float32", ["N", k]);
    g.initializer("w", float32([k], w));
    g.initializer("b", float32([k], b));
    g.node("Add", [g.op("Mul", ["x", "w"]), "b"], { outputs: ["logits"] });
    g.addOutput("logits", "float32", ["N", k]);
  }, opset);
}

/** A model (named tiny.onnx in messages) whose graph `build` fills in. */
export function modelOf(build: (g: GraphBuilder) => void, opset = 17): ModelFile {
  const g = new GraphBuilder(newGraph({ name: "tiny" }));
  build(g);
  const proto = newModel({ irVersion: 8n, opsetImport: [newOpset("", opset)], graph: g.graph });
  return loadModel(encodeModel(proto), { name: "tiny.onnx" });
}

export { fromOrt, toOrt };

/** Runs train steps, carrying the state from one step to the next. */
export class StepRunner {
  private constructor(
    readonly session: ort.InferenceSession,
    readonly manifest: Manifest,
    readonly state: Map<string, Tensor>,
  ) {}

  static async create(a: {
    trainStep: ModelProto;
    initialState: Map<string, Tensor>;
    manifest: Manifest;
  }): Promise<StepRunner> {
    return new StepRunner(
      await ort.InferenceSession.create(encodeModel(a.trainStep)),
      a.manifest,
      new Map(a.initialState),
    );
  }

  /** One step; returns every output by name and moves the state forward. */
  async step(feeds: {
    batch: Tensor;
    targets?: Tensor;
    lr: number;
    classWeights?: Tensor;
  }): Promise<Map<string, Tensor>> {
    const m = this.manifest;
    const f: Record<string, ort.Tensor> = {
      [m.inputs.batch]: toOrt(feeds.batch),
      [m.inputs.lr]: new ort.Tensor("float32", Float32Array.of(feeds.lr), []),
    };
    if (m.inputs.targets) f[m.inputs.targets] = toOrt(feeds.targets!);
    if (m.inputs.classWeights) f[m.inputs.classWeights] = toOrt(feeds.classWeights!);
    for (const s of m.state) f[s.name] = toOrt(this.state.get(s.name)!);
    const out = new Map(Object.entries(await this.session.run(f)).map(([k, v]) => [k, fromOrt(v)]));
    for (const s of m.state) this.state.set(s.name, out.get(s.output)!);
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

export const values = (t: Tensor | undefined): number[] => Array.from(t!.data as Float32Array);
export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number =>
  Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
