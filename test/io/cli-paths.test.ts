/**
 * Output paths and options of zoo, export-weights, import-weights and data, checked before any work: one line
 * naming the path or option, exit code 2, nothing written, no stack trace.
 */
import { expect } from "chai";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSafetensors } from "../../src/io/safetensors.js";
import { saveModelWithExternalData } from "../../src/onnx/external-data.js";
import { loadModel } from "../../src/onnx/model-io.js";
import { runCli } from "../helpers/run-cli.js";

const MODEL = "test/fixtures/pytorch/resnet18w8_fmnist.ts-preserve.onnx";
const WEIGHTS = "test/fixtures/pytorch/resnet18w8_fmnist.weights.safetensors";

async function expectRefused(argv: string[], re: RegExp): Promise<void> {
  const r = await runCli(argv);
  expect(r.code, r.stderr).to.equal(2);
  const lines = r.stderr.trimEnd().split("\n");
  expect(lines, r.stderr).to.have.length(1);
  expect(lines[0]).to.match(re);
  expect(r.stderr).to.not.match(/\bat .*\.ts:\d+/);
}

describe("cli: output paths and options checked before any work", function () {
  this.timeout(60_000);
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), "cli-paths-"));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  for (const [name, argv] of [
    ["zoo", (out: string) => ["zoo", "resnet18w8", "--out", out]],
    ["export-weights", (out: string) => ["export-weights", MODEL, out]],
    ["import-weights", (out: string) => ["import-weights", MODEL, WEIGHTS, "--out", out]],
  ] as const) {
    describe(name, () => {
      it("a missing folder", () => expectRefused(argv(join(tmp, "no/x")), /the folder '.*no' does not exist/));
      it("a folder given as the file", () => expectRefused(argv(tmp), /is a folder; expected a file path/));
      it("a file used as a folder", async () => {
        writeFileSync(join(tmp, "f"), "");
        await expectRefused(argv(join(tmp, "f", "x")), /is not a folder/);
      });
      it("an empty path", () => expectRefused(argv(""), /is empty/));
      it("a device", () => expectRefused(argv("/dev/null"), /is a device; not replacing it/));
    });
  }

  describe("zoo bounds", () => {
    it("--width 1e9", () =>
      expectRefused(
        ["zoo", "resnet18", "--width", "1e9", "--out", join(tmp, "m.onnx")],
        /more than an ONNX file holds/,
      ));
    it("--classes 1e9", () =>
      expectRefused(["zoo", "resnet18", "--classes", "1e9", "--out", join(tmp, "m.onnx")], /more than an ONNX file/));
    it("--image 100000", () =>
      expectRefused(
        ["zoo", "resnet18", "--image", "100000", "--out", join(tmp, "m.onnx")],
        /imageSize must be at most/,
      ));
  });

  describe("import-weights and export-weights never overwrite what they read", () => {
    function externalModel(): string {
      const out = join(tmp, "model.onnx");
      saveModelWithExternalData(loadModel(MODEL), out);
      return out;
    }
    it("import-weights --out the model's own external-data file", async () => {
      const m = externalModel();
      const before = readFileSync(`${m}.data`);
      await expectRefused(
        ["import-weights", m, WEIGHTS, "--out", `${m}.data`],
        /--out '.*model\.onnx\.data': is an external-data file of the model/,
      );
      expect(readFileSync(`${m}.data`).equals(before)).to.equal(true);
    });
    it("import-weights --out the weights file, also through a link", async () => {
      const w = join(tmp, "w.safetensors");
      copyFileSync(WEIGHTS, w);
      await expectRefused(["import-weights", MODEL, w, "--out", w], /is the weights file/);
      symlinkSync(w, join(tmp, "link.onnx"));
      await expectRefused(["import-weights", MODEL, w, "--out", join(tmp, "link.onnx")], /is the weights file/);
      expect(readFileSync(w).equals(readFileSync(WEIGHTS))).to.equal(true);
    });
    it("import-weights --out the model itself replaces it once the new one is whole", async () => {
      const m = join(tmp, "m.onnx");
      copyFileSync(MODEL, m);
      const r = await runCli(["import-weights", m, WEIGHTS, "--out", m]);
      expect(r.code, r.stderr).to.equal(0);
      expect(loadModel(m).proto.graph!.initializer.length).to.be.above(0);
    });
    it("export-weights <out> the model or its external-data file", async () => {
      const m = externalModel();
      await expectRefused(["export-weights", m, m], /<out> '.*model\.onnx': is the model/);
      await expectRefused(["export-weights", m, `${m}.data`], /is an external-data file of the model/);
    });
    it("import-weights that matches no tensor writes nothing", async () => {
      const w = join(tmp, "other.safetensors");
      const st = readSafetensors(WEIGHTS).tensors;
      const renamed = new Map([...st].map(([k, t]) => [`other.${k}`, t]));
      const { writeSafetensors } = await import("../../src/io/safetensors.js");
      writeSafetensors(w, renamed);
      await expectRefused(
        ["import-weights", MODEL, w, "--out", join(tmp, "o.onnx")],
        /no tensor matches an initializer/,
      );
      expect(existsSync(join(tmp, "o.onnx"))).to.equal(false);
    });
    it("export-weights of an initializer named __proto__ writes a valid safetensors file", async () => {
      const m = loadModel(MODEL);
      m.proto.graph!.initializer[0]!.name = "__proto__";
      const { saveModel } = await import("../../src/onnx/model-io.js");
      saveModel(m.proto, join(tmp, "proto.onnx"));
      const r = await runCli(["export-weights", join(tmp, "proto.onnx"), join(tmp, "p.safetensors"), "--all"]);
      expect(r.code, r.stderr).to.equal(0);
      const back = readSafetensors(join(tmp, "p.safetensors")).tensors;
      expect(back.has("__proto__")).to.equal(true);
      expect(back.size).to.equal(m.proto.graph!.initializer.length);
    });
  });

  describe("data", () => {
    it("--write-forget into a missing folder fails before the data is opened", async () => {
      await expectRefused(
        ["data", "cifar10:/nonexistent", "--forget", "random:0.1", "--write-forget", join(tmp, "no/f.json")],
        /--write-forget '.*f\.json': the folder .* does not exist/,
      );
    });
    it("--write-forget over the id list being read", async () => {
      mkdirSync(join(tmp, "d"));
      writeFileSync(join(tmp, "ids.json"), "[1,2]");
      await expectRefused(
        [
          "data",
          "cifar10:/nonexistent",
          "--forget",
          `ids:${join(tmp, "ids.json")}`,
          "--write-forget",
          join(tmp, "ids.json"),
        ],
        /is the forget id list/,
      );
    });
    it("--shape 3x100000x100000", () =>
      expectRefused(
        ["data", `folder:${tmp}`, "--shape", "3x100000x100000"],
        /--shape: image of 100000 x 100000 pixels has a side longer than 32768/,
      ));
  });
});
