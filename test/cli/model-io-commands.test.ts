import { expect } from "chai";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { saveModelWithExternalData } from "../../src/onnx/external-data.js";
import { loadModel, saveModel } from "../../src/onnx/model-io.js";
import { runCli } from "../helpers/run-cli.js";

const DIR = "test/fixtures/pytorch";
const PRESERVE = `${DIR}/resnet18w8_fmnist.ts-preserve.onnx`;

describe("cli: inspect, export-weights, import-weights", () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), "cli-io-"));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it("inspect --json prints the documented shape", async () => {
    const r = await runCli(["inspect", `${DIR}/resnet18w8_tvstem.ts-eval.onnx`, "--json"]);
    expect([r.code, r.stderr]).to.deep.equal([0, ""]);
    const inv = JSON.parse(r.stdout);
    expect(Object.keys(inv)).to.deep.equal(["inputs", "outputs", "opset", "layers"]);
    expect(inv.opset).to.equal(17);
    expect(inv.inputs).to.deep.equal([{ name: "input", dtype: "float32", dims: ["N", 3, 32, 32] }]);
    expect(inv.layers).to.have.length(21);
    const fc = inv.layers[20];
    expect(fc).to.include({ name: "fc", op: "Gemm", numel: 650, role: "classifier", reinit: false });
    expect(fc.nodes).to.deep.equal(["/fc/Gemm"]);
    expect(fc.params).to.deep.equal(["fc.weight", "fc.bias"]);
    const down = inv.layers.find((l: { name: string }) => l.name === "layer3.0.downsample.0");
    expect(down).to.include({ role: "shortcut", reinit: false });
    expect(down.params[0]).to.match(/^onnx::Conv_\d+$/);
  });

  it("inspect prints a table with parameter counts", async () => {
    const r = await runCli(["inspect", PRESERVE]);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/layer2\.0\.downsample\.0\s+Conv\+BN\s+shortcut\s+no\s+\[16, 8, 1, 1\]\s+192/);
    expect(r.stdout).to.match(/fc\s+Gemm\s+classifier\s+no\s+\[10, 64\]\s+650/);
    expect(r.stdout).to.match(
      /21 layers \(17 body, 3 shortcut, 1 classifier\), 17 to re-initialise; 177,458 parameters and buffers/,
    );
  });

  it("export-weights then import-weights --strict gives back the same model file", async () => {
    const st = join(tmp, "w.safetensors");
    const out = join(tmp, "back.onnx");
    expect((await runCli(["export-weights", PRESERVE, st])).stdout).to.equal(`wrote 102 tensors to ${st}\n`);
    const r = await runCli(["import-weights", PRESERVE, st, "--out", out, "--strict"]);
    expect([r.code, r.stdout]).to.deep.equal([0, `loaded 102 tensors; wrote ${out}\n`]);
    expect(readFileSync(out).equals(readFileSync(PRESERVE))).to.equal(true);
  });

  it("import-weights from a checkpoint with --key reports conversions and skipped buffers", async () => {
    const out = join(tmp, "m.onnx");
    const r = await runCli(["import-weights", PRESERVE, `${DIR}/resnet18w8_fmnist.fp16.pth`, "--out", out, "--strict"]);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(
      /converted 102 tensors float16 -> float32\nskipped 20 buffers that ONNX never holds: bn1\.num_batches_tracked, .* and 17 more/,
    );
    const ck = await runCli([
      "import-weights",
      PRESERVE,
      `${DIR}/resnet18w8_fmnist.checkpoint.pth`,
      "--key",
      "model_state_dict",
      "--out",
      out,
      "--strict",
    ]);
    expect(ck.code).to.equal(0);
  });

  describe("bad input: one line naming the file, exit 2, no stack, no output file", () => {
    const out = () => join(tmp, "out.onnx");
    async function expectRefused(argv: string[], message: RegExp): Promise<void> {
      const r = await runCli(argv);
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr.trimEnd().split("\n"), r.stderr).to.have.length(1);
      expect(r.stderr).to.match(message);
      expect(r.stderr).not.to.match(/\n\s+at /);
      expect(
        readdirSync(tmp).filter((f) => f.startsWith("out") || f.endsWith(".tmp")),
        "left behind",
      ).to.deep.equal([]);
    }
    const file = (name: string, bytes: string | Uint8Array) => {
      const p = join(tmp, name);
      writeFileSync(p, bytes);
      return p;
    };

    it("not-ONNX bytes", async () => {
      await expectRefused(["inspect", file("x.onnx", "hello, world\n")], /^onnx-unlearn: .*x\.onnx: .*not .*ONNX/);
    });
    it("a truncated model", async () => {
      const p = file("cut.onnx", readFileSync(PRESERVE).subarray(0, 50_000));
      await expectRefused(
        ["import-weights", p, `${DIR}/resnet18w8_fmnist.weights.safetensors`, "--out", out()],
        /cut\.onnx: .*(truncated|not)/,
      );
    });
    it("a missing and an escaping external-data file", async () => {
      const model = join(tmp, "ext.onnx");
      saveModelWithExternalData(loadModel(PRESERVE), model);
      rmSync(`${model}.data`);
      await expectRefused(
        ["export-weights", model, join(tmp, "out.safetensors")],
        /ext\.onnx: .*'ext\.onnx\.data' is missing/,
      );
      const m = loadModel(model, { checkExternal: false });
      for (const t of m.proto.graph!.initializer)
        for (const e of t.externalData) if (e.key === "location") e.value = "../x.onnx.data";
      const escaping = join(tmp, "esc.onnx");
      saveModel(m.proto, escaping);
      await expectRefused(["inspect", escaping], /esc\.onnx: .*escapes the model's folder/);
    });
    it("a safetensors header that lies about sizes", async () => {
      const good = readFileSync(`${DIR}/resnet18w8_fmnist.weights.safetensors`);
      const lying = Buffer.from(good.toString("latin1").replace('"shape":[10,64]', '"shape":[10,65]'), "latin1");
      await expectRefused(
        ["import-weights", PRESERVE, file("lie.safetensors", lying), "--out", out()],
        /lie\.safetensors: invalid safetensors header: 'fc\.weight' spans 2560 bytes but F32 \[10,65\] needs 2600/,
      );
    });
    it("duplicate names in a safetensors header", async () => {
      const good = readFileSync(`${DIR}/resnet18w8_fmnist.weights.safetensors`);
      const dup = Buffer.from(good.toString("latin1").replace('"fc.bias"', '"fc.weight"'), "latin1");
      await expectRefused(
        ["import-weights", PRESERVE, file("dup.safetensors", dup), "--out", out()],
        /dup\.safetensors: safetensors header names 'fc\.weight' more than once/,
      );
    });
    it("unknown names with --strict", async () => {
      await expectRefused(
        [
          "import-weights",
          `${DIR}/resnet18w8_fmnist.ts-eval.onnx`,
          `${DIR}/resnet18w8_fmnist.weights.safetensors`,
          "--out",
          out(),
          "--strict",
        ],
        /weights\.safetensors: cannot load into .* \(strict\): missing keys: onnx::Conv_\d+.*; unexpected keys: bn1\.bias/,
      );
    });
    it("malicious.pth, and nothing runs", async () => {
      await expectRefused(
        ["import-weights", PRESERVE, `${DIR}/malicious.pth`, "--out", out()],
        /malicious\.pth: refuses to load: .*'posix\.system'/,
      );
    });
    it("--verbose adds the stack trace", async () => {
      const r = await runCli(["--verbose", "inspect", join(tmp, "absent.onnx")]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/absent\.onnx: cannot read the model file \(ENOENT\)\n.*UserError[\s\S]*\n\s+at /);
    });
    it("an existing output is left untouched when the import fails", async () => {
      const target = join(tmp, "keep.onnx");
      copyFileSync(PRESERVE, target);
      const r = await runCli(["import-weights", PRESERVE, `${DIR}/malicious.pth`, "--out", target]);
      expect(r.code).to.equal(2);
      expect(readFileSync(target).equals(readFileSync(PRESERVE))).to.equal(true);
      expect(existsSync(`${target}.tmp`)).to.equal(false);
    });
  });
});
