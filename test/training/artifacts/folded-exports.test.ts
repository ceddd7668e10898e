import { expect } from "chai";
import { readSafetensors } from "../../../src/io/safetensors.js";
import { loadModel } from "../../../src/onnx/model-io.js";
import { buildArtifacts } from "../../../src/training/artifacts/index.js";
import { StepRunner, values } from "./helpers.js";

const FIX = "test/fixtures/pytorch";

describe("artifacts of BN-folded exports (ts-eval: GlobalAveragePool/Flatten; dynamo: ReduceMean/Reshape, opset 20)", () => {
  for (const model of ["resnet18w8_fmnist", "resnet18w8_tvstem"]) {
    for (const variant of ["ts-eval", "dynamo"]) {
      it(`${model}.${variant}: cross-entropy falls over 20 SGD steps on a fixed batch`, async () => {
        const ref = readSafetensors(`${FIX}/${model}.ref.safetensors`).tensors;
        const a = await buildArtifacts(loadModel(`${FIX}/${model}.${variant}.onnx`), { loss: "ce" });
        // folded convs have weight and bias, fc too: 20 * 2 + 2 parameters, no BN statistics
        expect(a.manifest.state.filter((s) => s.role === "param")).to.have.length(42);
        expect(a.manifest.state.filter((s) => s.role.startsWith("bn_"))).to.have.length(0);
        const runner = await StepRunner.create(a);
        const losses: number[] = [];
        for (let i = 0; i < 20; i++) {
          const out = await runner.step({ batch: ref.get("input_noisy")!, targets: ref.get("labels")!, lr: 0.01 });
          losses.push(values(out.get(a.manifest.outputs.loss))[0]!);
        }
        await runner.release();
        expect(losses.every(Number.isFinite)).to.equal(true);
        // a ResNet memorises 8 random labels: the loss should drop well below its start
        expect(losses[19]).to.be.below(0.5 * losses[0]!, `losses ${losses.map((l) => l.toFixed(3)).join(" ")}`);
      });
    }
  }
});
