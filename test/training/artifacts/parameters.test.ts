import { expect } from "chai";
import { readSafetensors } from "../../../src/io/safetensors.js";
import { loadModel } from "../../../src/onnx/model-io.js";
import { float32, int64 } from "../../../src/onnx/tensor.js";
import { findParameters } from "../../../src/training/artifacts/index.js";
import { modelOf } from "./helpers.js";

const FIX = "test/fixtures/pytorch";

describe("artifacts parameters: which initializers are trained", () => {
  it("ts-preserve: exactly PyTorch's parameters (the reference's gradient names), BN statistics excluded", () => {
    const params = findParameters(loadModel(`${FIX}/resnet18w8_tvstem.ts-preserve.onnx`).proto.graph!);
    const torch = [...readSafetensors(`${FIX}/resnet18w8_tvstem.ref.safetensors`).tensors.keys()]
      .filter((k) => k.startsWith("grad_mse/"))
      .map((k) => k.slice(9));
    expect([...params].sort()).to.deep.equal(torch.sort());
  });

  it("dynamo: folded conv weights and biases and fc; no shape constants", () => {
    const model = loadModel(`${FIX}/resnet18w8_fmnist.dynamo.onnx`);
    const params = findParameters(model.proto.graph!);
    expect(params).to.have.length(42);
    expect(params).to.include.members(["conv1.weight", "conv1.weight_bias", "fc.weight", "fc.bias"]);
  });

  it("a ViT-like graph: class token through Expand/Concat, position embedding, LayerNorm, MatMul weights; scalar constants are not parameters", () => {
    const model = modelOf((g) => {
      g.addInput("tokens", "float32", ["N", 4, 6]);
      g.initializer("cls_token", float32([1, 1, 6], new Array(6).fill(0.1)));
      g.initializer("pos_embed", float32([1, 5, 6], new Array(30).fill(0.2)));
      g.initializer("ln.weight", float32([6], new Array(6).fill(1)));
      g.initializer("ln.bias", float32([6], new Array(6).fill(0)));
      g.initializer("head.weight_t", float32([6, 3], new Array(18).fill(0.3)));
      g.initializer("half", float32([], [0.5]));
      g.initializer("six", float32([1], [6]));
      g.initializer("expand_shape", int64([3], [2, 1, 6]));
      const cls = g.op("Expand", ["cls_token", "expand_shape"]);
      const x = g.op("Add", [g.op("Concat", [cls, "tokens"], { axis: 1 }), "pos_embed"]);
      const y = g.op("LayerNormalization", [x, "ln.weight", "ln.bias"], { axis: -1 });
      const z = g.op("Clip", [g.op("Mul", [y, "half"]), "", "six"]);
      g.node("MatMul", [z, "head.weight_t"], { outputs: ["logits"] });
      g.addOutput("logits", "float32", ["N", 5, 3]);
    });
    expect(findParameters(model.proto.graph!)).to.deep.equal([
      "cls_token",
      "pos_embed",
      "ln.weight",
      "ln.bias",
      "head.weight_t",
    ]);
  });
});
