import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { saveModel, type ModelFile } from "../../../src/onnx/model-io.js";
import { valueInfoDims } from "../../../src/onnx/proto.js";
import { float32 } from "../../../src/onnx/tensor.js";
import { buildArtifacts, checkTrainable, type BuildOptions } from "../../../src/training/artifacts/index.js";
import { runCli } from "../../helpers/run-cli.js";
import { modelOf } from "./helpers.js";

async function buildError(model: ModelFile, opts: BuildOptions): Promise<Error> {
  const err = await buildArtifacts(model, opts).then(
    () => undefined,
    (e: Error) => e,
  );
  expect(err, "buildArtifacts should fail").to.be.instanceOf(Error);
  expect(err!.name).to.equal("UserError");
  return err!;
}

/** logits = op(x @ W) with W [3,3] (a weighted layer), op in `domain` */
const withOp = (op: string, domain = "") =>
  modelOf((g) => {
    g.addInput("x", "float32", ["N", 3]);
    g.initializer("w", float32([3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]));
    g.node(op, [g.op("MatMul", ["x", "w"])], { outputs: ["logits"], name: "head" });
    if (domain) g.graph.node.at(-1)!.domain = domain;
    g.addOutput("logits", "float32", ["N", 3]);
  });

/** One line on stderr, exit 2. */
function oneLine(r: { code: number; stderr: string }): string {
  expect(r.code, r.stderr).to.equal(2);
  expect(r.stderr.trim().split("\n"), r.stderr).to.have.length(1);
  return r.stderr;
}

describe("artifacts: bad input", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "artifacts-bad-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("an op without a gradient rule: the engine names op, node and opset; the CLI exits 2", async () => {
    const path = join(dir, "softsign.onnx");
    saveModel(withOp("Softsign").proto, path);
    const r = await runCli(["artifacts", path, "--out", join(dir, "out")]);
    expect(oneLine(r)).to.match(/No gradient rule for op 'Softsign' \(node 'head', opset 17\); supported: .*Conv/);
  });

  it("an op of another domain is refused before the model is run (onnxruntime could not even load it)", async () => {
    const path = join(dir, "custom.onnx");
    saveModel(withOp("Swish", "com.example").proto, path);
    const r = await runCli(["artifacts", path, "--out", join(dir, "out")]);
    expect(oneLine(r)).to.match(/No gradient rule for op 'com\.example\.Swish' \(node 'head', opset 17\)/);
  });

  it("a model without a weighted layer (Conv, Gemm, MatMul): one line, exit 2", async () => {
    const path = join(dir, "no-layer.onnx");
    saveModel(
      modelOf((g) => {
        g.addInput("x", "float32", ["N", 3]);
        g.initializer("w", float32([3], [1, 2, 3]));
        g.node("Mul", ["x", "w"], { outputs: ["logits"] });
        g.addOutput("logits", "float32", ["N", 3]);
      }).proto,
      path,
    );
    const r = await runCli(["artifacts", path, "--out", join(dir, "out")]);
    expect(oneLine(r)).to.equal(
      "onnx-unlearn: no-layer.onnx: has no weighted layer (Conv, ConvTranspose, Gemm or MatMul with a weight initializer): nothing to train or re-initialise\n",
    );
  });

  it("a model with more than one output: one line naming them, exit 2 (unless --output picks the logits)", async () => {
    const path = join(dir, "two-outputs.onnx");
    saveModel(
      modelOf((g) => {
        g.addInput("x", "float32", ["N", 3]);
        g.initializer("w", float32([3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]));
        const y = g.op("MatMul", ["x", "w"]);
        g.node("Identity", [y], { outputs: ["logits"] });
        g.node("Relu", [y], { outputs: ["features"] });
        g.addOutput("logits", "float32", ["N", 3]);
        g.addOutput("features", "float32", ["N", 3]);
      }).proto,
      path,
    );
    const r = await runCli(["artifacts", path, "--out", join(dir, "out")]);
    expect(oneLine(r)).to.equal(
      "onnx-unlearn: two-outputs.onnx: has 2 outputs ('logits', 'features'); expected one, the logits [N,K]\n",
    );
    const ok = await runCli(["artifacts", path, "--out", join(dir, "out2"), "--output", "logits"]);
    expect(ok.code, ok.stderr).to.equal(0);
  });

  it("checkTrainable: the three checks for the train and unlearn commands, before anything runs", () => {
    expect(() => checkTrainable(withOp("Softsign"))).to.throw(/No gradient rule for op 'Softsign' \(node 'head'/);
    expect(() => checkTrainable(withOp("Relu"))).to.not.throw();
  });

  it("a model without float parameters", async () => {
    const model = modelOf((g) => {
      g.addInput("x", "float32", ["N", 3]);
      g.node("Relu", ["x"], { outputs: ["logits"] });
      g.addOutput("logits", "float32", ["N", 3]);
    });
    expect((await buildError(model, { loss: "mse" })).message).to.match(
      /^tiny\.onnx: has no float parameters to train/,
    );
  });

  it("a requested parameter the loss does not reach, and one that is no float initializer", async () => {
    const model = modelOf((g) => {
      g.addInput("x", "float32", ["N", 3]);
      g.initializer("w", float32([3], [1, 2, 3]));
      g.initializer("unused", float32([3], [1, 1, 1]));
      g.node("Mul", ["x", "w"], { outputs: ["logits"] });
      g.node("Add", ["x", "unused"], { outputs: ["features"] });
      g.addOutput("logits", "float32", ["N", 3]);
      g.addOutput("features", "float32", ["N", 3]);
    });
    expect((await buildError(model, { loss: "mse", parameters: ["w", "unused"], output: "logits" })).message).to.match(
      /does not depend .* on: unused/,
    );
    expect(
      (await buildError(model, { loss: "mse", parameters: ["w", "nope", "x"], output: "logits" })).message,
    ).to.equal(
      "tiny.onnx: cannot train the requested parameters: 'nope' is not an initializer; 'x' is not an initializer",
    );
  });

  it("logits that are not [N,K] float, and an ambiguous batch input", async () => {
    const rank3 = modelOf((g) => {
      g.addInput("x", "float32", ["N", 2, 3]);
      g.initializer("w", float32([3], [1, 2, 3]));
      g.node("Mul", ["x", "w"], { outputs: ["logits"] });
      g.addOutput("logits", "float32", ["N", 2, 3]);
    });
    expect((await buildError(rank3, { loss: "ce" })).message).to.contain(
      "output 'logits' must be logits [N,K], got [N,2,3]",
    );
    const twoInputs = modelOf((g) => {
      g.addInput("x", "float32", ["N", 3]);
      g.addInput("y", "float32", ["N", 3]);
      g.initializer("w", float32([3], [1, 2, 3]));
      g.node("Add", [g.op("Mul", ["x", "w"]), "y"], { outputs: ["logits"] });
      g.addOutput("logits", "float32", ["N", 3]);
    });
    expect((await buildError(twoInputs, { loss: "ce" })).message).to.contain(
      "cannot tell the batch input among [x, y]; name it",
    );
  });

  it("the artifacts CLI names a missing input or output (exit 2)", async () => {
    const r = await runCli([
      "artifacts",
      "test/fixtures/pytorch/resnet18w8_fmnist.dynamo.onnx",
      "--out",
      join(dir, "o"),
      "--input",
      "x",
      "--output",
      "nope",
    ]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.equal(
      "onnx-unlearn: resnet18w8_fmnist.dynamo.onnx: has no input 'x' (inputs: input); has no output 'nope' (outputs: logits)\n",
    );
  });

  it("the artifacts CLI rejects bad options at once (exit 2)", async () => {
    const r = await runCli([
      "artifacts",
      "m.onnx",
      "--out",
      dir,
      "--loss",
      "l1",
      "--optimizer",
      "adam",
      "--momentum",
      "x",
    ]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain(
      "--loss expects one of mse, ce, neg-ce, got 'l1'; --optimizer expects one of sgd, adamw, got 'adam'; --momentum expects a number >= 0, got 'x'",
    );
  });
});

describe("artifacts: exports with a fixed batch size", () => {
  /** logits = Reshape(x * w, shape) with x declared [1, 3] */
  const fixedBatch = (shape: number[]) =>
    modelOf((g) => {
      g.addInput("x", "float32", [1, 3]);
      g.initializer("w", float32([3], [1, 2, 3]));
      g.initializer("shape", { dtype: "int64", dims: [2], data: BigInt64Array.from(shape, BigInt) });
      g.node("Reshape", [g.op("Mul", ["x", "w"]), "shape"], { outputs: ["logits"] });
      g.addOutput("logits", "float32", [1, 3]);
    });

  it("a batch dim declared 1 is relaxed to N in the train step and the eval model", async () => {
    const a = await buildArtifacts(fixedBatch([-1, 3]), { loss: "mse" });
    for (const m of [a.trainStep, a.eval])
      expect(valueInfoDims(m.graph!.input.find((i) => i.name === "x")!)).to.deep.equal(["N", 3]);
  });

  it("a batch size fixed inside the graph is refused with advice", async () => {
    expect((await buildError(fixedBatch([1, 3]), { loss: "mse" })).message).to.match(
      /cannot run it at batch sizes 1 and 3 .*Re-export it with a dynamic batch axis/,
    );
  });
});
