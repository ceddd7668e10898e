import { expect } from "chai";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkAgainstModel, type DatasetSummary } from "../../src/data/index.js";
import { UserError } from "../../src/errors.js";
import { runCli } from "../helpers/run-cli.js";
import { tempDir, writeNpyPair } from "./make-data.js";

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const r = await runCli(args);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

describe("onnx-unlearn data", () => {
  const t = tempDir("data-cli");
  after(() => t.remove());
  const labels = Array.from({ length: 30 }, (_, i) => i % 3);
  const p = writeNpyPair(t.dir, 30, [1, 2, 2], labels);
  const source = `npy:${p.x},${p.y}`;

  it("prints counts per split and class, shape, value range and forget/retain sizes as JSON", async () => {
    const forgetFile = join(t.dir, "forget.json");
    const r = await run([
      "data",
      source,
      "--test-fraction",
      "0.2",
      "--forget",
      "classes:2",
      "--json",
      "--write-forget",
      forgetFile,
    ]);
    expect(r.err).to.equal("");
    expect(r.code).to.equal(0);
    const s = JSON.parse(r.out) as DatasetSummary;
    expect(s.shape).to.deep.equal({ channels: 1, height: 2, width: 2 });
    expect(s.splits.train).to.deep.equal({ count: 24, perClass: [8, 8, 8] });
    expect(s.splits.test).to.deep.equal({ count: 6, perClass: [2, 2, 2] });
    expect(s.forget).to.deep.equal({ description: "classes:2", count: 8, perClass: [0, 0, 8] });
    expect(s.retain).to.deep.equal({ count: 16, perClass: [8, 8, 0] });
    expect(s.valueRange!.min).to.be.at.least(0);
    expect(s.valueRange!.max).to.be.at.most(1);
    const written = JSON.parse(readFileSync(forgetFile, "utf8")) as { ids: number[] };
    expect(written.ids).to.have.length(8);
    expect(written.ids.every((id) => labels[id] === 2)).to.equal(true);
  });

  it("prints a table without --json", async () => {
    const r = await run(["data", source, "--forget", "random:5", "--seed", "4"]);
    expect(r.code).to.equal(0);
    expect(r.out)
      .to.match(/images: 1x2x2/)
      .and.match(/forget: random:5 \(seed 4\)/)
      .and.match(/^retain\s+19\s/m);
  });

  it("exits 2 with one line naming the problem", async () => {
    const ids = join(t.dir, "dup.txt");
    writeFileSync(ids, "3\n3\n999\n");
    const r = await run(["data", source, "--forget", `ids:${ids}`]);
    expect(r.code).to.equal(2);
    expect(r.err).to.match(
      /^onnx-unlearn: .*dup\.txt: bad forget ids: id 3 is listed more than once; id 999 is not an example of npy:.*\n$/,
    );
    const all = await run(["data", source, "--forget", "classes:0,1,2"]);
    expect(all.code).to.equal(2);
    expect(all.err).to.match(/retain set would be empty/);
    const opt = await run(["data", source, "--on-corrupt", "maybe"]);
    expect(opt.err).to.match(/--on-corrupt expects stop or skip, got 'maybe'/);
  });
});

describe("data/validate: checkAgainstModel", () => {
  const data = {
    shape: { channels: 1, height: 28, width: 28 },
    numClasses: 12,
    labels: Int32Array.from([0, 11, 11, 10, 3]),
  };

  it("accepts matching and symbolic dims", () => {
    checkAgainstModel(
      { ...data, labels: Int32Array.from([0, 9]) },
      { inputDims: ["N", 1, 28, 28], numClasses: 10, model: "m.onnx", data: "d" },
    );
    checkAgainstModel(data, { inputDims: [-1, 1n, undefined, 28], model: "m.onnx", data: "d" });
  });

  it("lists every mismatch: channels, size, labels", () => {
    expect(() =>
      checkAgainstModel(data, {
        inputDims: ["N", 3, 32, 32],
        numClasses: 10,
        model: "m.onnx input 'input'",
        data: "fashion-mnist",
      }),
    ).to.throw(
      UserError,
      "fashion-mnist: does not fit model m.onnx input 'input': images have 1 channels, the model expects 3; images are 28x28 (1x28x28), the model expects 32x32; labels out of range for a model with 10 classes: 1 examples of class 10, 2 examples of class 11",
    );
    expect(() => checkAgainstModel(data, { inputDims: [1, 28, 28], model: "m", data: "d" })).to.throw(
      UserError,
      /model input has 3 dims/,
    );
  });
});
