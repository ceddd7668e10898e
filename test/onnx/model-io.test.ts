import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserError } from "../../src/errors.js";
import { readSafetensors } from "../../src/io/safetensors.js";
import { loadModel, modelBytes, readInitializers, saveModel } from "../../src/onnx/model-io.js";
import { runModel } from "../helpers/logits.js";

const DIR = "test/fixtures/pytorch";
const MODELS = ["resnet18w8_fmnist", "resnet18w8_tvstem"];
const VARIANTS = ["ts-eval", "ts-preserve", "dynamo"];

describe("onnx/model-io", () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), "onnx-io-"));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  for (const m of MODELS) {
    const input = readSafetensors(`${DIR}/${m}.ref.safetensors`).tensors.get("input")!;
    for (const v of VARIANTS) {
      const path = `${DIR}/${m}.${v}.onnx`;
      it(`${m}.${v}: load, save and reload give the same bytes and bit-identical logits`, async () => {
        const original = readFileSync(path);
        const out = join(tmp, `${m}.${v}.onnx`);
        saveModel(loadModel(path), out);
        const saved = readFileSync(out);
        expect(Buffer.compare(saved, original)).to.equal(0);
        const reloaded = loadModel(out);
        expect(Buffer.compare(Buffer.from(modelBytes(reloaded)), original)).to.equal(0);
        const before = await runModel(new Uint8Array(original), { input });
        const after = await runModel(out, { input });
        expect(Buffer.from(after.buffer).equals(Buffer.from(before.buffer))).to.equal(true);
      });
    }
  }

  it("keeps every initializer value and int64 constants as BigInt64Array", () => {
    const inits = readInitializers(loadModel(`${DIR}/resnet18w8_fmnist.dynamo.onnx`));
    const shape = [...inits.values()].find((t) => t.dtype === "int64")!;
    expect(shape.data).to.be.instanceOf(BigInt64Array);
    expect(inits.get("fc.weight")!.dims).to.deep.equal([10, 64]);
  });

  describe("bad input", () => {
    it("refuses bytes that are not ONNX, naming the file", () => {
      const p = join(tmp, "notes.onnx");
      writeFileSync(p, "this is a text file, not a model\n");
      expect(() => loadModel(p)).to.throw(UserError, /notes\.onnx: .*not .*ONNX/);
    });
    it("refuses a truncated model", () => {
      const p = join(tmp, "truncated.onnx");
      writeFileSync(p, readFileSync(`${DIR}/resnet18w8_fmnist.ts-eval.onnx`).subarray(0, 100_000));
      expect(() => loadModel(p)).to.throw(UserError, /truncated\.onnx: .*(truncated|not)/);
    });
    it("refuses an empty file and a missing file", () => {
      const p = join(tmp, "empty.onnx");
      writeFileSync(p, "");
      expect(() => loadModel(p)).to.throw(UserError, /empty\.onnx: is empty/);
      expect(() => loadModel(join(tmp, "absent.onnx"))).to.throw(UserError, /absent\.onnx: cannot read .*ENOENT/);
    });
  });
});
