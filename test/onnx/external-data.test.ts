import { expect } from "chai";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserError } from "../../src/errors.js";
import { readSafetensors } from "../../src/io/safetensors.js";
import {
  embedExternalData,
  hasExternalData,
  isExternal,
  saveModelWithExternalData,
} from "../../src/onnx/external-data.js";
import { loadModel, readInitializers, saveModel } from "../../src/onnx/model-io.js";
import { newEntry } from "../../src/onnx/proto.js";
import { runModel } from "../helpers/logits.js";

const SRC = "test/fixtures/pytorch/resnet18w8_fmnist.ts-preserve.onnx";

describe("onnx/external-data", () => {
  let tmp: string;
  const input = readSafetensors("test/fixtures/pytorch/resnet18w8_fmnist.ref.safetensors").tensors.get("input")!;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), "onnx-ext-"));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  function writeExternal(threshold = 1024): string {
    const out = join(tmp, "model.onnx");
    saveModelWithExternalData(loadModel(SRC), out, { threshold });
    return out;
  }

  it("writes tensors above the threshold to a side file and reads them back unchanged", async () => {
    const out = writeExternal();
    const model = loadModel(out);
    const inits = model.proto.graph!.initializer;
    const external = inits.filter(isExternal);
    expect(external.length).to.be.greaterThan(10);
    expect(external.every((t) => t.rawData.length === 0)).to.equal(true);
    expect(inits.filter((t) => !isExternal(t)).every((t) => t.rawData.length < 1024)).to.equal(true);
    expect(statSync(out).size).to.be.lessThan(statSync(SRC).size / 4);
    const original = readInitializers(loadModel(SRC));
    const back = readInitializers(model);
    for (const [name, t] of original)
      expect(Buffer.from(back.get(name)!.data.buffer).equals(Buffer.from(t.data.buffer)), name).to.equal(true);
    // onnxruntime resolves the side file itself and gives the same logits
    const want = await runModel(SRC, { input });
    const got = await runModel(out, { input });
    expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer))).to.equal(true);
  });

  it("saving into another folder embeds external tensors; embedExternalData restores the original bytes", () => {
    const out = writeExternal();
    const other = join(tmp, "elsewhere");
    mkdirSync(other);
    saveModel(loadModel(out), join(other, "copy.onnx"));
    expect(hasExternalData(loadModel(join(other, "copy.onnx")).proto)).to.equal(false);
    const m = loadModel(out);
    embedExternalData(m);
    saveModel(m, join(tmp, "embedded.onnx"));
    expect(readFileSync(join(tmp, "embedded.onnx")).equals(readFileSync(SRC))).to.equal(true);
  });

  describe("bad input", () => {
    function withLocation(location: string): string {
      const out = writeExternal();
      const m = loadModel(out);
      const t = m.proto.graph!.initializer.find(isExternal)!;
      t.externalData = t.externalData.map((e) => (e.key === "location" ? newEntry("location", location) : e));
      const bad = join(tmp, "bad.onnx");
      saveModel(m.proto, bad);
      return bad;
    }
    it("refuses a location that escapes the model's folder (../x)", () => {
      expect(() => loadModel(withLocation("../model.onnx.data"))).to.throw(
        UserError,
        /bad\.onnx: .*'\.\.\/model\.onnx\.data' escapes the model's folder/,
      );
    });
    it("refuses an absolute location", () => {
      expect(() => loadModel(withLocation(join(tmp, "model.onnx.data")))).to.throw(
        UserError,
        /escapes the model's folder/,
      );
    });
    it("refuses a missing side file, naming it", () => {
      expect(() => loadModel(withLocation("nothing-here.data"))).to.throw(
        UserError,
        /bad\.onnx: .*'nothing-here\.data' is missing/,
      );
    });
    it("refuses a side file too short for the recorded range", () => {
      const out = writeExternal();
      writeFileSync(`${out}.data`, readFileSync(`${out}.data`).subarray(0, 5000));
      expect(() => loadModel(out)).to.throw(UserError, /outside 'model\.onnx\.data'/);
    });
    it("refuses to write the side file outside the folder and leaves nothing behind", () => {
      const out = join(tmp, "x.onnx");
      expect(() => saveModelWithExternalData(loadModel(SRC), out, { location: "../x.data" })).to.throw(
        UserError,
        /escapes/,
      );
      expect(existsSync(out)).to.equal(false);
    });
  });
});
