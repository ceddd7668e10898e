import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { readSafetensors } from "../../../src/io/safetensors.js";
import { buildZooModel } from "../../../src/models/index.js";
import { loadModel, readInitializers } from "../../../src/onnx/model-io.js";
import { encodeModel, opsetVersion } from "../../../src/onnx/proto.js";
import type { Tensor } from "../../../src/onnx/tensor.js";
import { buildArtifacts, type Artifacts } from "../../../src/training/artifacts/index.js";
import { randomBatch } from "../../../src/training/benchmark.js";
import { TrainingSession } from "../../../src/training/session/index.js";
import { DISABLED_OPTIMIZERS } from "../../../src/training/session/options.js";
import { buildMultiStep } from "../../../src/training/session/multi-step.js";

const FIX = "test/fixtures/pytorch/resnet18w8_fmnist";
const values = (t: Tensor) => Array.from(t.data as Float32Array);
const relErr = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let num = 0,
    den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
};

/** The train step run by hand: one InferenceSession, state fed and read back by the test. */
async function referenceLoop(
  a: Artifacts,
  batches: Tensor[],
  lr: number,
): Promise<{ losses: number[]; state: Map<string, Float32Array> }> {
  const session = await ort.InferenceSession.create(encodeModel(a.trainStep), {
    extra: { optimization: { disable_specified_optimizers: DISABLED_OPTIMIZERS } },
  });
  const state = new Map<string, Float32Array>(
    [...a.initialState].map(([k, t]) => [k, Float32Array.from(t.data as Float32Array)]),
  );
  const losses: number[] = [];
  for (const b of batches) {
    const feeds: Record<string, ort.Tensor> = {
      [a.manifest.inputs.batch]: new ort.Tensor("float32", b.data as Float32Array, b.dims),
      [a.manifest.inputs.lr]: new ort.Tensor("float32", new Float32Array([lr]), []),
    };
    for (const s of a.manifest.state)
      feeds[s.name] = new ort.Tensor("float32", Float32Array.from(state.get(s.name)!), s.dims);
    const out = await session.run(feeds);
    losses.push((out[a.manifest.outputs.loss]!.data as Float32Array)[0]!);
    for (const s of a.manifest.state) state.set(s.name, out[s.output]!.data as Float32Array);
  }
  await session.release();
  return { losses, state };
}

describe("training/session on generated ResNet-18 (width 8) artifacts", function () {
  this.timeout(120_000);
  let dir: string;
  let teacherArtifacts: Artifacts;
  const source = loadModel(encodeModel(buildZooModel("resnet18w8", { channels: 1, imageSize: 28, seed: 4 })), {
    name: "zoo.onnx",
  });
  const batches = [0, 1, 2, 3].map((i) => randomBatch([2, 1, 28, 28], 50 + i));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "resnet-session-"));
    teacherArtifacts = await buildArtifacts(source, { loss: "mse", teacher: true });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("steps exactly like a plain reference loop over the same train step", async () => {
    const session = await TrainingSession.create(teacherArtifacts);
    const got: number[] = [];
    for (const b of batches.slice(0, 3)) got.push((await session.step(b, undefined, 0.05)).loss);
    const ref = await referenceLoop(teacherArtifacts, batches.slice(0, 3), 0.05);
    expect(got).to.deep.equal(ref.losses);
    expect(got[2]).to.be.above(0); // the student left the teacher's weights: a real, non-zero MSE
    for (const [name, t] of session.getState()) expect(values(t), name).to.deep.equal(Array.from(ref.state.get(name)!));
    await session.release();
  });

  it("gives the same loss for the same state and batch, run after run (no hidden state in the runtime)", async () => {
    const session = await TrainingSession.create(teacherArtifacts);
    const start = session.getState();
    const losses: number[] = [];
    for (let i = 0; i < 3; i++) {
      session.setState(start);
      losses.push((await session.step(batches[0]!, undefined, 0.05)).loss);
    }
    expect(losses[1]).to.equal(losses[0]);
    expect(losses[2]).to.equal(losses[0]);
    await session.release();
  });

  it("resumes from a saved state to the same numbers", async () => {
    const a = await TrainingSession.create(teacherArtifacts);
    for (const b of batches.slice(0, 2)) await a.step(b, undefined, 0.05);
    const path = join(dir, "state.safetensors");
    a.saveState(path);
    const cont: number[] = [];
    for (const b of batches.slice(2)) cont.push((await a.step(b, undefined, 0.05)).loss);
    const b2 = await TrainingSession.create(teacherArtifacts);
    b2.loadState(path);
    expect(b2.stepCount).to.equal(2);
    const resumed: number[] = [];
    for (const b of batches.slice(2)) resumed.push((await b2.step(b, undefined, 0.05)).loss);
    expect(resumed).to.deep.equal(cont);
    for (const [name, t] of a.getState()) expect(values(b2.getState().get(name)!), name).to.deep.equal(values(t));
    await a.release();
    await b2.release();
  });

  it("runs K steps per run (Loop) to the numbers of K single steps", async () => {
    const single = await TrainingSession.create(teacherArtifacts);
    const want: number[] = [];
    for (const b of batches.slice(0, 3)) want.push((await single.step(b, undefined, 0.05)).loss);
    const multi = await TrainingSession.create(teacherArtifacts);
    const stacked = {
      dtype: "float32" as const,
      dims: [3, 2, 1, 28, 28],
      data: Float32Array.from(batches.slice(0, 3).flatMap(values)),
    };
    const { losses } = await multi.stepMany(stacked, undefined, 0.05);
    // the loop body keeps the single step's state check: one sum of the new state per step, as a scan output
    const { model, names } = buildMultiStep(teacherArtifacts.trainStep, teacherArtifacts.manifest);
    const body = model.graph!.node.find((n) => n.opType === "Loop")!.attribute[0]!.g!;
    expect(teacherArtifacts.manifest.outputs.stateSum).to.be.a("string");
    expect(body.output.at(-1)!.name).to.equal(`step/${teacherArtifacts.manifest.outputs.stateSum}`);
    expect(model.graph!.output.at(-1)!.name).to.equal(names.stateSums);
    // Same kernels on the same inputs; allow float32 reassociation should ORT plan the loop body differently.
    expect(relErr(losses, want)).to.be.below(1e-5);
    for (const [name, t] of single.getState())
      expect(relErr(values(multi.getState().get(name)!), values(t)), name).to.be.below(1e-5);
    // the in-graph sums name the step whose update is not finite (step 2's, though step 3's loss is then NaN too)
    const before = multi.getState();
    const r = await multi.stepMany(stacked, undefined, [0.05, 3e38, 0.05], { nonFinite: "skip" });
    expect(r.skipped).to.equal("the update makes the state non-finite at step 5");
    expect(multi.stepCount).to.equal(3);
    for (const [name, t] of before) expect(values(multi.getState().get(name)!), name).to.deep.equal(values(t));
    await single.release();
    await multi.release();
  });

  it("exports the source graph with the current weights; a fresh InferenceSession matches evaluate", async () => {
    const session = await TrainingSession.create(teacherArtifacts);
    for (const b of batches.slice(0, 2)) await session.step(b, undefined, 0.05);
    const path = join(dir, "exported.onnx");
    session.exportInferenceModel(path);
    const exported = loadModel(path);
    const g = exported.proto.graph!,
      src = source.proto.graph!;
    expect(g.input.map((v) => v.name)).to.deep.equal(["input"]);
    expect(g.output.map((v) => v.name)).to.deep.equal(["logits"]);
    expect(opsetVersion(exported.proto)).to.equal(17);
    expect(g.node.map((n) => `${n.opType}:${n.name}`)).to.deep.equal(src.node.map((n) => `${n.opType}:${n.name}`));
    expect(g.initializer.map((t) => t.name)).to.deep.equal(src.initializer.map((t) => t.name)); // same order too
    expect(exported.proto.irVersion).to.equal(source.proto.irVersion);
    const weights = readInitializers(exported);
    expect(values(weights.get("layer1.0.conv1.weight")!)).to.deep.equal(
      values(session.getParameters().get("layer1.0.conv1.weight")!),
    );
    expect(values(weights.get("layer1.0.conv1.weight")!)).to.not.deep.equal(
      values(readInitializers(source).get("layer1.0.conv1.weight")!),
    );
    const fresh = await ort.InferenceSession.create(path);
    const x = batches[3]!;
    const out = await fresh.run({ input: new ort.Tensor("float32", x.data as Float32Array, x.dims) });
    // ORT folds BN into Conv when the weights are initializers (the export) but not when they are inputs
    // (evaluate): float32 rounding of a 20-layer network, ~1e-7 relative
    expect(relErr(out.logits!.data as Float32Array, values(await session.evaluate(x)))).to.be.below(1e-5);
    await fresh.release();
    const evaluator = await session.createEvaluator();
    const snapshot = await evaluator.evaluate(x);
    expect(Array.from(snapshot.data as Float32Array)).to.deep.equal(Array.from(out.logits!.data as Float32Array));
    await session.step(batches[0]!, undefined, 0.05);
    expect(values(await evaluator.evaluate(x))).to.deep.equal(values(snapshot)); // frozen
    expect(relErr(values(await session.evaluate(x)), values(snapshot))).to.be.above(1e-4); // the session moved on
    await evaluator.release();
    await session.release();
  });

  it("loads PyTorch's weights and reproduces PyTorch's logits and two SGD steps", async () => {
    const fixture = loadModel(`${FIX}.ts-preserve.onnx`);
    const artifacts = await buildArtifacts(fixture, { loss: "mse" });
    const session = await TrainingSession.create(artifacts);
    const fresh = buildZooModel("resnet18w8", { channels: 1, imageSize: 28 });
    expect(fresh.graph!.initializer.length).to.equal(fixture.proto.graph!.initializer.length);
    session.loadParameters(`${FIX}.weights.safetensors`); // a PyTorch state_dict (num_batches_tracked ignored)
    const ref = readSafetensors(`${FIX}.ref.safetensors`).tensors;
    // float32 inference, same weights: PyTorch and ORT agree to ~1e-6 relative
    expect(relErr(values(await session.evaluate(ref.get("input")!)), values(ref.get("eval_logits")!))).to.be.below(
      1e-5,
    );
    // torch.optim.SGD(lr=0.05, momentum=0.9, weight_decay=5e-4), twice on the same batch and targets
    const [x, t] = [ref.get("input_noisy")!, ref.get("teacher_logits")!];
    const l1 = (await session.step(x, t, 0.05)).loss;
    const l2 = (await session.step(x, t, 0.05)).loss;
    expect(l1).to.be.closeTo(values(ref.get("loss_mse")!)[0]!, 1e-5 * l1);
    expect(l2).to.be.closeTo(values(ref.get("loss_mse_step2")!)[0]!, 1e-3 * l2);
    const params = session.getParameters();
    for (const [name, want] of ref) {
      if (!name.startsWith("sgd_after2/")) continue;
      const p = name.slice("sgd_after2/".length);
      // two float32 training steps: gradients agree to ~1e-4 relative, parameters far closer
      expect(relErr(values(params.get(p)!), values(want)), p).to.be.below(1e-4);
    }
    await session.release();
  });
});

describe("training/session with cross-entropy and class weights", function () {
  this.timeout(60_000);
  it("feeds the class weights to step and stepMany alike, and requires them", async () => {
    const source = loadModel(encodeModel(buildZooModel("resnet18w8", { channels: 1, imageSize: 8, seed: 5 })), {
      name: "zoo.onnx",
    });
    const artifacts = await buildArtifacts(source, { loss: "ce", classWeights: true });
    const classWeights: Tensor = {
      dtype: "float32",
      dims: [10],
      data: Float32Array.from({ length: 10 }, (_, i) => 0.5 + i / 10),
    };
    const err = await TrainingSession.create(artifacts).catch((e: unknown) => e);
    expect(err)
      .to.be.instanceOf(Error)
      .with.property("message")
      .match(/classWeights \('class_weights'\) is missing/);
    const labels: Tensor = { dtype: "int64", dims: [3], data: BigInt64Array.from([1n, 7n, 3n]) };
    const x = randomBatch([3, 1, 8, 8], 60);
    const single = await TrainingSession.create(artifacts, { classWeights });
    const want = [(await single.step(x, labels, 0.05)).loss, (await single.step(x, labels, 0.05)).loss];
    const multi = await TrainingSession.create(artifacts, { classWeights });
    const twice = (t: Tensor): Tensor => {
      const data = t.dtype === "int64" ? new BigInt64Array(2 * t.data.length) : new Float32Array(2 * t.data.length);
      data.set(t.data as never);
      data.set(t.data as never, t.data.length);
      return { dtype: t.dtype, dims: [2, ...t.dims], data };
    };
    const { losses } = await multi.stepMany(twice(x), twice(labels), 0.05);
    expect(relErr(losses, want)).to.be.below(1e-5);
    await single.release();
    await multi.release();
  });
});
