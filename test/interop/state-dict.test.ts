import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import seedrandom from "seedrandom";
import { UserError } from "../../src/errors.js";
import { exportWeights, importWeights, modelStateKeys } from "../../src/interop/state-dict.js";
import { readWeightsFile } from "../../src/interop/weights-file.js";
import { readSafetensors, writeSafetensors } from "../../src/io/safetensors.js";
import { loadModel, modelBytes, readInitializers, type ModelFile } from "../../src/onnx/model-io.js";
import { float32, writeTensorData, type Tensor } from "../../src/onnx/tensor.js";
import { maxAbsDiff, runModel } from "../helpers/logits.js";

const DIR = "test/fixtures/pytorch";
const PRESERVE = (m: string) => `${DIR}/${m}.ts-preserve.onnx`;

/** The model with every state tensor replaced by seeded noise (running_var kept positive). */
function scrambled(path: string, seed = "scramble"): ModelFile {
  const model = loadModel(path);
  const rng = seedrandom(seed);
  const keys = new Set(modelStateKeys(model));
  for (const t of model.proto.graph!.initializer) {
    if (!keys.has(t.name)) continue;
    const n = t.dims.reduce((a, b) => a * Number(b), 1);
    writeTensorData(
      t,
      float32(
        t.dims.map(Number),
        Array.from({ length: n }, () => rng() + 0.1),
      ),
    );
  }
  return model;
}

describe("interop/state-dict", () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), "interop-"));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  for (const m of ["resnet18w8_fmnist", "resnet18w8_tvstem"]) {
    const input = () => readSafetensors(`${DIR}/${m}.ref.safetensors`).tensors.get("input")!;
    const sources: [string, string | undefined][] = [
      [`${m}.weights.safetensors`, undefined],
      [`${m}.state_dict.pth`, undefined],
    ];
    if (m === "resnet18w8_fmnist")
      sources.push(
        ["resnet18w8_fmnist.legacy.pth", undefined],
        ["resnet18w8_fmnist.checkpoint.pth", "model_state_dict"],
      );
    for (const [file, key] of sources) {
      it(`${file}${key ? ` (key ${key})` : ""} imports strictly into the scrambled ts-preserve model: same bytes, same logits`, async () => {
        const model = scrambled(PRESERVE(m));
        const weights = readWeightsFile(`${DIR}/${file}`, { key });
        const report = importWeights(model, weights.tensors, { strict: true });
        expect(report.loaded).to.have.length(102);
        expect(report.skipped).to.have.length(20);
        expect(report.skipped.every((s) => s.endsWith("num_batches_tracked"))).to.equal(true);
        expect([report.missing, report.unexpected, report.mismatched]).to.deep.equal([[], [], []]);
        const original = readFileSync(PRESERVE(m));
        expect(Buffer.from(modelBytes(model)).equals(original)).to.equal(true);
        const want = await runModel(new Uint8Array(original), { input: input() });
        const got = await runModel(modelBytes(model), { input: input() });
        expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer))).to.equal(true);
      });
    }
  }

  it("float16 checkpoint: converted to float32, logits within half-precision error", async () => {
    const model = scrambled(PRESERVE("resnet18w8_fmnist"));
    const report = importWeights(model, readWeightsFile(`${DIR}/resnet18w8_fmnist.fp16.pth`).tensors, { strict: true });
    expect(report.converted.size).to.equal(102);
    expect(new Set(report.converted.values())).to.deep.equal(new Set(["float16 -> float32"]));
    const input = readSafetensors(`${DIR}/resnet18w8_fmnist.ref.safetensors`).tensors.get("input")!;
    const want = await runModel(PRESERVE("resnet18w8_fmnist"), { input });
    const got = await runModel(modelBytes(model), { input });
    const scale = Math.max(...Array.from(want, Math.abs));
    // each of the 102 tensors carries a relative rounding error <= 2^-11; to first order the logits move by
    // at most that much per tensor, relative to the logit scale
    const bound = 102 * 2 ** -11 * scale;
    const diff = maxAbsDiff(got, want);
    expect(diff).to.be.greaterThan(0);
    expect(diff).to.be.at.most(bound);
  });

  it("export-weights then import-weights round-trips every model byte for byte", () => {
    for (const v of ["ts-eval", "ts-preserve", "dynamo"]) {
      const path = `${DIR}/resnet18w8_tvstem.${v}.onnx`;
      const out = join(tmp, `${v}.safetensors`);
      writeSafetensors(out, exportWeights(loadModel(path)));
      const model = scrambled(path, v);
      expect(Buffer.from(modelBytes(model)).equals(readFileSync(path))).to.equal(false);
      importWeights(model, readSafetensors(out).tensors, { strict: true });
      expect(Buffer.from(modelBytes(model)).equals(readFileSync(path)), v).to.equal(true);
    }
  });

  it("exports the layers' state only, or every initializer with all", () => {
    const m = loadModel(`${DIR}/resnet18w8_fmnist.dynamo.onnx`);
    expect(exportWeights(m).size).to.equal(42);
    expect(exportWeights(m, { all: true }).size).to.equal(m.proto.graph!.initializer.length);
  });

  describe("load_state_dict reporting", () => {
    const weights = () => readSafetensors(`${DIR}/resnet18w8_fmnist.weights.safetensors`).tensors;
    it("non-strict: reports missing and unexpected keys, loads the rest", () => {
      const w = weights();
      w.delete("fc.bias");
      w.set("extra.weight", float32([1], [1]));
      const report = importWeights(loadModel(PRESERVE("resnet18w8_fmnist")), w);
      expect(report.missing).to.deep.equal(["fc.bias"]);
      expect(report.unexpected).to.deep.equal(["extra.weight"]);
      expect(report.loaded).to.have.length(101);
    });
    it("strict: fails on missing and unexpected keys, listing them, and changes nothing", () => {
      const w = weights();
      w.delete("fc.bias");
      w.set("extra.weight", float32([1], [1]));
      const model = scrambled(PRESERVE("resnet18w8_fmnist"));
      const before = modelBytes(model);
      expect(() => importWeights(model, w, { strict: true, source: "w.safetensors" })).to.throw(
        UserError,
        /^w\.safetensors: cannot load into .* \(strict\): missing keys: fc\.bias; unexpected keys: extra\.weight$/,
      );
      expect(Buffer.from(modelBytes(model)).equals(Buffer.from(before))).to.equal(true);
    });
    it("a shape or type mismatch fails even when not strict", () => {
      const w = weights();
      w.set("fc.weight", float32([10, 32], new Float32Array(320)));
      w.set("fc.bias", { dtype: "int64", dims: [10], data: new BigInt64Array(10) });
      expect(() => importWeights(loadModel(PRESERVE("resnet18w8_fmnist")), w)).to.throw(
        UserError,
        /size\/type mismatch for fc\.bias \(weights int64 \[10\], model float32 \[10\]\), fc\.weight \(weights float32 \[10, 32\], model float32 \[10, 64\]\)$/,
      );
    });
    it("a model with two initializers of the same name is refused, naming it", () => {
      const m = loadModel(PRESERVE("resnet18w8_fmnist"));
      m.proto.graph!.initializer[1]!.name = m.proto.graph!.initializer[0]!.name;
      expect(() => exportWeights(m)).to.throw(
        UserError,
        /ts-preserve\.onnx: has several initializers named 'conv1\.weight'/,
      );
      expect(() => importWeights(m, weights())).to.throw(UserError, /several initializers named 'conv1\.weight'/);
    });
    it("BN-folded exports do not keep state_dict names: strict import names the folded convs", () => {
      expect(() =>
        importWeights(loadModel(`${DIR}/resnet18w8_fmnist.ts-eval.onnx`), weights(), { strict: true }),
      ).to.throw(UserError, /missing keys: onnx::Conv_\d+.*unexpected keys: .*bn1\.bias/);
    });
    it("a checkpoint dict needs --key, and the error names the candidates", () => {
      expect(() => readWeightsFile(`${DIR}/resnet18w8_fmnist.checkpoint.pth`)).to.throw(
        UserError,
        /not a state_dict \(keys: epoch, model_state_dict, .*--key \(candidates: model_state_dict\)/,
      );
      expect(() => readWeightsFile(`${DIR}/resnet18w8_fmnist.checkpoint.pth`, { key: "model" })).to.throw(
        UserError,
        /has no entry 'model'/,
      );
    });
  });

  it("initializers that are not layer parameters load when named (int64 constants of the dynamo export)", () => {
    const m = loadModel(`${DIR}/resnet18w8_fmnist.dynamo.onnx`);
    const constants = [...readInitializers(m)].filter(([, t]) => t.dtype === "int64");
    expect(constants.length).to.be.greaterThan(0);
    const report = importWeights(m, new Map<string, Tensor>(constants));
    expect(report.loaded).to.deep.equal(constants.map(([k]) => k));
    expect(report.missing).to.have.length(42);
  });
});
