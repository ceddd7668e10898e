/** src/onnx/proto.ts: cloneModel is a deep copy that encodes to the original's bytes. */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { cloneModel, decodeModel, encodeModel } from "../../src/onnx/proto.js";

const FIXTURE = "test/fixtures/pytorch/resnet18w8_fmnist.ts-preserve.onnx";

describe("onnx/proto: cloneModel", () => {
  it("copies every field, large initializers included: the same bytes, and no memory shared with the original", () => {
    const bytes = readFileSync(FIXTURE); // a Buffer: the decoded initializers are views into it
    const model = decodeModel(bytes);
    const inits = model.graph!.initializer;
    const large = inits.findIndex((t) => t.rawData.byteLength >= 1 << 16);
    const small = inits.findIndex((t) => t.rawData.byteLength > 0 && t.rawData.byteLength < 1 << 16);
    expect(large, "a large initializer").to.be.at.least(0);
    expect(small, "a small initializer").to.be.at.least(0);
    const before = inits.map((t) => t.rawData);
    const copy = cloneModel(model);
    expect(Buffer.from(encodeModel(copy)).equals(bytes)).to.equal(true);
    // the original keeps its own arrays, and the copy's are separate memory
    expect(inits.map((t) => t.rawData)).to.deep.equal(before);
    inits.forEach((t, i) => expect(t.rawData, t.name).to.equal(before[i]));
    for (const i of [large, small]) {
      const [mine, theirs] = [copy.graph!.initializer[i]!.rawData, inits[i]!.rawData];
      const was = theirs[0]!;
      mine[0] = was ^ 0xff;
      expect(theirs[0], inits[i]!.name).to.equal(was);
    }
    expect(Buffer.from(encodeModel(model)).equals(bytes)).to.equal(true);
  });
});
