import { expect } from "chai";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
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
        /bad\.onnx: .*'\.\.\/model\.onnx\.data' escapes the model's folder \(has a '\.\.' segment\)/,
      );
    });
    it("refuses an absolute location", () => {
      expect(() => loadModel(withLocation(join(tmp, "model.onnx.data")))).to.throw(UserError, /is an absolute path/);
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
        /'\.\.\/x\.data' escapes the model's folder \(has a '\.\.' segment\)/,
      );
      expect(existsSync(out)).to.equal(false);
    });
    it("refuses an inner '..' segment even when it would land inside the folder", () => {
      mkdirSync(join(tmp, "sub"));
      expect(() => loadModel(withLocation("sub/../model.onnx.data"))).to.throw(UserError, /has a '\.\.' segment/);
    });

    describe("symbolic links that leave the model's folder", () => {
      let outside: string;
      beforeEach(() => {
        outside = mkdtempSync(join(tmpdir(), "onnx-outside-"));
      });
      afterEach(() => rmSync(outside, { recursive: true, force: true }));

      /** A model in tmp/m/ whose side file (same bytes) is reached through `link` -> a path outside. */
      function linkedModel(kind: "file" | "folder"): string {
        const out = writeExternal();
        const dir = join(tmp, "m");
        mkdirSync(dir);
        const m = loadModel(out);
        if (kind === "file") {
          copyFileSync(`${out}.data`, join(outside, "secret.data"));
          symlinkSync(join(outside, "secret.data"), join(dir, "model.onnx.data"));
          saveModel(m.proto, join(dir, "model.onnx"));
        } else {
          copyFileSync(`${out}.data`, join(outside, "model.onnx.data"));
          symlinkSync(outside, join(dir, "etc"));
          for (const t of m.proto.graph!.initializer.filter(isExternal))
            t.externalData = t.externalData.map((e) =>
              e.key === "location" ? newEntry("location", "etc/model.onnx.data") : e,
            );
          saveModel(m.proto, join(dir, "model.onnx"));
        }
        return join(dir, "model.onnx");
      }

      it("a file link: loading refuses it, naming the target", () => {
        expect(() => loadModel(linkedModel("file"))).to.throw(
          UserError,
          /leaves the model's folder through a symbolic link/,
        );
      });
      it("a folder link: loading refuses it", () => {
        expect(() => loadModel(linkedModel("folder"))).to.throw(
          UserError,
          /'etc\/model\.onnx\.data' leaves the model's folder/,
        );
      });
      it("reading a tensor refuses it too (no check at load), so no outside bytes reach exported weights", () => {
        const m = loadModel(linkedModel("file"), { checkExternal: false });
        expect(() => readInitializers(m)).to.throw(UserError, /leaves the model's folder/);
        expect(() => embedExternalData(m)).to.throw(UserError, /leaves the model's folder/);
      });
      it("a link inside the folder is fine", () => {
        const out = writeExternal();
        const dir = join(tmp, "m");
        mkdirSync(join(dir, "blobs"), { recursive: true });
        copyFileSync(`${out}.data`, join(dir, "blobs", "w.data"));
        symlinkSync("blobs/w.data", join(dir, "model.onnx.data"));
        saveModel(loadModel(out).proto, join(dir, "model.onnx"));
        const back = readInitializers(loadModel(join(dir, "model.onnx")));
        expect(back.size).to.equal(readInitializers(loadModel(SRC)).size);
      });
      it("writing refuses a side file whose existing link leads outside", () => {
        const dir = join(tmp, "w");
        mkdirSync(dir);
        writeFileSync(join(outside, "victim"), "keep");
        symlinkSync(join(outside, "victim"), join(dir, "x.onnx.data"));
        expect(() => saveModelWithExternalData(loadModel(SRC), join(dir, "x.onnx"))).to.throw(
          UserError,
          /leaves the model's folder through a symbolic link/,
        );
        expect(readFileSync(join(outside, "victim"), "utf8")).to.equal("keep");
      });
    });
  });
});
