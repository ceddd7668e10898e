import { expect } from "chai";
import * as ort from "onnxruntime-node";
import { normalSampler, seededRandom } from "../../../src/models/init.js";
import { layerInventory } from "../../../src/onnx/layers.js";
import { loadModel } from "../../../src/onnx/model-io.js";
import { encodeModel } from "../../../src/onnx/proto.js";
import { float32, int64 } from "../../../src/onnx/tensor.js";
import { tiedInitializers } from "../../../src/onnx/tied-initializers.js";
import { buildArtifacts } from "../../../src/training/artifacts/index.js";
import { TrainingSession } from "../../../src/training/session/index.js";

// A fresh Conv-BN-ReLU x2 + Linear exported with TrainingMode.PRESERVE by torch 1.13 (scripts/models/make-matrix.py):
// the exporter merged the equal tensors into 1.weight (ones) and 1.bias (zeros) plus six Identity nodes.
const FILE = "test/fixtures/models/tied_fresh.ts-preserve.onnx";
const ALIASES = ["4.running_var", "4.running_mean", "4.bias", "4.weight", "1.running_var", "1.running_mean"];
const values = (t: { data: unknown } | undefined) => Array.from(t!.data as Float32Array);

describe("tied initializers (TorchScript merges equal tensors): untied for training, each under its own name", () => {
  it("finds the six aliases of the fixture", () => {
    const aliases = tiedInitializers(loadModel(FILE).proto.graph!);
    expect([...aliases.keys()]).to.deep.equal(ALIASES);
    expect(aliases.get("4.weight")).to.equal("1.weight");
    expect(aliases.get("1.running_mean")).to.equal("1.bias");
  });

  it("inspect lists each BatchNorm's own parameters and statistics", () => {
    const inv = layerInventory(loadModel(FILE));
    expect(inv.layers.map((l) => [l.name, l.params.map((p) => p.name)])).to.deep.equal([
      ["0", ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var"]],
      ["3", ["3.weight", "3.bias", "4.weight", "4.bias", "4.running_mean", "4.running_var"]],
      ["8", ["8.weight", "8.bias"]],
    ]);
  });

  it("trains every parameter separately and exports every original name, without the Identity nodes", async () => {
    const a = await buildArtifacts(loadModel(FILE), { loss: "ce", denseConvs: false });
    const params = a.manifest.state.filter((s) => s.role === "param").map((s) => s.name);
    expect(params.sort()).to.deep.equal(
      [
        "0.weight",
        "0.bias",
        "1.weight",
        "1.bias",
        "3.weight",
        "3.bias",
        "4.weight",
        "4.bias",
        "8.weight",
        "8.bias",
      ].sort(),
    );
    const stats = a.manifest.state.filter((s) => s.role.startsWith("bn_running")).map((s) => s.name);
    expect(stats).to.deep.equal(["1.running_mean", "1.running_var", "4.running_mean", "4.running_var"]);

    const session = await TrainingSession.create(a);
    const normal = normalSampler(seededRandom(7));
    const x = float32([6, 3, 8, 8], Array.from({ length: 6 * 3 * 64 }, normal));
    for (let i = 0; i < 2; i++) await session.step(x, int64([6], [0, 1, 2, 0, 1, 2]), 0.1);
    const p = session.getParameters();
    expect([...p.keys()].sort()).to.deep.equal([...params, ...stats].sort());
    // once trained, the tensors the export had merged hold different values
    expect(values(p.get("4.weight"))).to.not.deep.equal(values(p.get("1.weight")));
    expect(values(p.get("4.bias"))).to.not.deep.equal(values(p.get("1.bias")));
    expect(values(p.get("1.running_mean"))).to.not.deep.equal(values(p.get("1.bias")));

    const exported = session.inferenceModel();
    const g = exported.graph!;
    expect(g.node.filter((n) => n.opType === "Identity")).to.have.length(0);
    const inits = g.initializer.map((t) => t.name);
    for (const name of [...params, ...stats]) expect(inits, name).to.include(name);
    const plain = await ort.InferenceSession.create(encodeModel(exported));
    expect(plain.inputNames).to.deep.equal(["input"]);
    expect(plain.outputNames).to.deep.equal(["logits"]);
    const out = await plain.run({ input: new ort.Tensor("float32", x.data as Float32Array, x.dims) });
    const ours = await session.evaluate(x);
    const diff = values(ours).map((v, i) => Math.abs(v - (out["logits"]!.data as Float32Array)[i]!));
    expect(Math.max(...diff)).to.be.below(1e-5);
    await plain.release();
    await session.release();
  });
});
