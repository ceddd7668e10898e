import { expect } from "chai";
import { loadModel, modelBytes } from "../src/onnx/model-io.js";

describe("skeleton", () => {
  it("loads and re-encodes a fixture byte for byte", () => {
    const m = loadModel("test/fixtures/pytorch/resnet18w8_fmnist.dynamo.onnx");
    expect(modelBytes(m).length).to.equal(786559);
  });
});
