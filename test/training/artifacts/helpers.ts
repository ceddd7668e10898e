/**
 * Shared by the artifacts tests: a tiny elementwise classifier (logits = x * w + b, x [N,K], w and b [K]),
 * whose gradients are easy to write by hand, and a runner that feeds a train step with onnxruntime-node.
 */
import { expect } from "chai";
import * as ort from "onnxruntime-node";
import seedrandom from "seedrandom";
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

/** Seeded uniform values in [-s, s): `r(n, s = 0.5)` returns the next n (weights and inputs of a test model). */
export function uniformValues(seed: string): (n: number, s?: number) => number[] {
  const rand = seedrandom(seed);
  return (n, s = 0.5) => Array.from({ length: n }, () => (rand() - 0.5) * 2 * s);
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

type StepArtifacts = Parameters<typeof StepRunner.create>[0];

/**
 * Two builds of one model (with and without a rewrite) stepped side by side on the same feeds: each step's loss
 * within 1e-5, every gradient (built with `gradients: true`) within 1e-5 of its largest value, and the state after
 * the steps within 1e-5.
 */
export async function expectSameSteps(
  a: StepArtifacts,
  b: StepArtifacts,
  feeds: Parameters<StepRunner["step"]>[0],
  steps = 2,
): Promise<void> {
  const [ra, rb] = [await StepRunner.create(a), await StepRunner.create(b)];
  try {
    for (let step = 0; step < steps; step++) {
      const [oa, ob] = [await ra.step(feeds), await rb.step(feeds)];
      expect(values(oa.get(a.manifest.outputs.loss))[0]).to.be.closeTo(
        values(ob.get(b.manifest.outputs.loss))[0]!,
        1e-5,
      );
      for (const [p, out] of Object.entries(a.manifest.outputs.gradients!)) {
        const [ga, gb] = [values(oa.get(out)), values(ob.get(b.manifest.outputs.gradients![p]!))];
        const scale = Math.max(...gb.map(Math.abs));
        ga.forEach((v, i) =>
          expect(Math.abs(v - gb[i]!)).to.be.at.most(1e-5 * scale + 1e-7, `step ${step} grad ${p}[${i}]`),
        );
      }
    }
    for (const s of a.manifest.state) {
      const [va, vb] = [values(ra.state.get(s.name)), values(rb.state.get(s.name))];
      va.forEach((v, i) => expect(v).to.be.closeTo(vb[i]!, 1e-5, `${s.name}[${i}]`));
    }
  } finally {
    await ra.release();
    await rb.release();
  }
}
