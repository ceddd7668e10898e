import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel } from "../../src/onnx/model-io.js";
import { valueInfoDims } from "../../src/onnx/proto.js";
import { runCli } from "../helpers/run-cli.js";

describe("cli: zoo", () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), "zoo-cli-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("writes the requested ResNet-18", async () => {
    const out = join(dir, "m.onnx");
    const r = await runCli([
      "zoo",
      "resnet18",
      "--width",
      "16",
      "--channels",
      "1",
      "--classes",
      "7",
      "--stem",
      "small",
      "--image",
      "28",
      "--seed",
      "3",
      "--out",
      out,
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/width 16, 1 channel\(s\), 7 classes, small stem, seed 3/);
    const g = loadModel(out).proto.graph!;
    expect(valueInfoDims(g.input[0]!)).to.deep.equal(["N", 1, 28, 28]);
    expect(valueInfoDims(g.output[0]!)).to.deep.equal(["N", 7]);
    expect(g.initializer.find((t) => t.name === "conv1.weight")!.dims.map(Number)).to.deep.equal([16, 1, 3, 3]);
    expect(g.initializer.find((t) => t.name === "fc.weight")!.dims.map(Number)).to.deep.equal([7, 128]);
  });

  it("rejects bad options with one line and exit code 2", async () => {
    const r = await runCli(["zoo", "resnet18", "--channels", "2", "--width", "x", "--out", join(dir, "bad.onnx")]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.equal("onnx-unlearn: --width expects a number, got 'x'\n");
    const r2 = await runCli(["zoo", "resnet18", "--channels", "2", "--out", join(dir, "bad.onnx")]);
    expect(r2.stderr).to.equal("onnx-unlearn: resnet18: channels must be 1 or 3, got 2\n");
  });
});
