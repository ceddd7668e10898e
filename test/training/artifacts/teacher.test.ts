import { expect } from "chai";
import * as ort from "onnxruntime-node";
import { buildZooModel } from "../../../src/models/index.js";
import { encodeModel } from "../../../src/onnx/proto.js";
import { float32 } from "../../../src/onnx/tensor.js";
import { readSafetensors } from "../../../src/io/safetensors.js";
import { loadModel } from "../../../src/onnx/model-io.js";
import { buildArtifacts, SGD_DEFAULTS } from "../../../src/training/artifacts/index.js";
import { relError } from "../../../src/training/artifacts/verify-torch.js";
import { maxAbsDiff, StepRunner, toOrt, values } from "./helpers.js";

const FIX = "test/fixtures/pytorch";

describe("artifacts teacher variant (the frozen original model inside the train step)", () => {
  it("ts-preserve: the teacher runs eval-mode BN, the student train-mode BN, on the same batch (PyTorch's numbers)", async () => {
    const ref = readSafetensors(`${FIX}/resnet18w8_fmnist.ref.safetensors`).tensors;
    const a = await buildArtifacts(loadModel(`${FIX}/resnet18w8_fmnist.ts-preserve.onnx`), {
      loss: "mse",
      teacher: true,
    });
    expect(a.manifest.inputs.targets).to.equal(null);
    expect(a.manifest.outputs.teacherLogits).to.equal("teacher/logits");
    const runner = await StepRunner.create(a);
    const first = await runner.step({ batch: ref.get("input_noisy")!, lr: 0.05 });
    // the teacher is model.eval()(input_noisy), the student model.train()(input_noisy): the loss is not 0
    expect(relError(first.get("teacher/logits")!, ref.get("teacher_logits")!)).to.be.below(1e-5);
    expect(relError(first.get("logits")!, ref.get("train_logits")!)).to.be.below(1e-5);
    expect(relError(first.get(a.manifest.outputs.loss)!, ref.get("loss_mse")!)).to.be.below(1e-5);
    // frozen: two steps later the teacher gives the same logits while the student has moved
    await runner.step({ batch: ref.get("input_noisy")!, lr: 0.05 });
    const third = await runner.step({ batch: ref.get("input_noisy")!, lr: 0.05 });
    expect(values(third.get("teacher/logits"))).to.deep.equal(values(first.get("teacher/logits")));
    expect(maxAbsDiff(values(third.get("logits")), values(first.get("logits")))).to.be.above(1e-3);
    await runner.release();
  });

  it("ts-eval (no BN, no dropout): student = teacher at step 0, so loss ~0, gradients ~0, only weight decay moves the parameters", async () => {
    const ref = readSafetensors(`${FIX}/resnet18w8_tvstem.ref.safetensors`).tensors;
    const a = await buildArtifacts(loadModel(`${FIX}/resnet18w8_tvstem.ts-eval.onnx`), {
      loss: "mse",
      teacher: true,
      gradients: true,
    });
    const runner = await StepRunner.create(a);
    const initial = new Map(runner.state);
    const lr = 0.05;
    const out = await runner.step({ batch: ref.get("input_noisy")!, lr });
    // the two copies differ only by float32 rounding (ORT may fuse the teacher's constant weights differently)
    const teacher = values(out.get("teacher/logits"));
    const scale = Math.max(...teacher.map(Math.abs));
    expect(maxAbsDiff(values(out.get("logits")), teacher)).to.be.below(1e-5 * scale);
    expect(values(out.get(a.manifest.outputs.loss))[0]).to.be.below((1e-5 * scale) ** 2);
    let worstGrad = 0;
    for (const [param, grad] of Object.entries(a.manifest.outputs.gradients!)) {
      worstGrad = Math.max(worstGrad, ...values(out.get(grad)).map(Math.abs));
      const p0 = values(initial.get(param));
      const decayed = p0.map((p) => p - lr * SGD_DEFAULTS.weightDecay * p);
      expect(maxAbsDiff(values(runner.state.get(param)), decayed), param).to.be.below(
        1e-6 * Math.max(...p0.map(Math.abs)),
      );
    }
    expect(worstGrad).to.be.below(1e-6);
    await runner.release();
  });

  it("needs the mse loss", async () => {
    const err = await buildArtifacts(loadModel(`${FIX}/resnet18w8_tvstem.ts-eval.onnx`), {
      loss: "ce",
      teacher: true,
    }).catch((e: Error) => e);
    expect(err).to.be.instanceOf(Error).with.property("name", "UserError");
    expect((err as Error).message).to.contain("the teacher variant needs loss 'mse'");
  });
});

describe("artifacts teacher variant on a freshly initialised model (BN buffers zeros and ones)", () => {
  it("the teacher stays the eval model over steps, and a run leaves the fed state arrays alone", async () => {
    const model = loadModel(
      encodeModel(buildZooModel("resnet18w8", { channels: 1, classes: 10, imageSize: 28, seed: 3 })),
    );
    const a = await buildArtifacts(model, { loss: "mse", teacher: true });
    const x = float32(
      [4, 1, 28, 28],
      Array.from({ length: 4 * 784 }, (_, i) => Math.sin(i * 0.37)),
    );
    const evalSession = await ort.InferenceSession.create(encodeModel(a.eval));
    const feeds: Record<string, ort.Tensor> = { input: toOrt(x) };
    for (const s of a.manifest.state.filter((e) => e.eval)) feeds[s.name] = toOrt(a.initialState.get(s.name)!);
    const expected = Array.from((await evalSession.run(feeds)).logits!.data as Float32Array);
    await evalSession.release();
    const fed = new Map([...a.initialState].map(([k, t]) => [k, values(t)]));
    const runner = await StepRunner.create(a);
    for (let step = 0; step < 3; step++) {
      const out = await runner.step({ batch: x, lr: 0.05 });
      expect(maxAbsDiff(values(out.get("teacher/logits")), expected), `step ${step}`).to.be.below(
        1e-5 * Math.max(...expected.map(Math.abs)),
      );
    }
    await runner.release();
    for (const [k, t] of a.initialState) expect(values(t), k).to.deep.equal(fed.get(k));
  });
});
