import { expect } from "chai";
import * as ort from "onnxruntime-node";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSafetensors, writeSafetensors } from "../../../src/io/safetensors.js";
import { loadModel } from "../../../src/onnx/model-io.js";
import { encodeModel } from "../../../src/onnx/proto.js";
import { findParameters, readArtifacts, type Manifest } from "../../../src/training/artifacts/index.js";
import { relError } from "../../../src/training/artifacts/verify-torch.js";
import { runCli } from "../../helpers/run-cli.js";
import { fromOrt, toOrt } from "./helpers.js";

const FIX = "test/fixtures/pytorch";

describe("artifacts files and the artifacts command", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "artifacts-files-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("`artifacts` runs the convs on 1x1/2x2 maps as dense Gemms unless --no-dense-convs (resnet18w8_tvstem: layer3 at 2x2, layer4 at 1x1)", async () => {
    const model = `${FIX}/resnet18w8_tvstem.ts-preserve.onnx`;
    const dense = await runCli(["artifacts", model, "--out", join(dir, "dense")]);
    const plain = await runCli(["artifacts", model, "--out", join(dir, "plain"), "--no-dense-convs"]);
    expect([dense.code, plain.code]).to.deep.equal([0, 0]);
    expect(dense.stdout).to.match(/; 7 convs as dense Gemms\n$/);
    expect(plain.stdout).to.match(/; 0 convs as dense Gemms\n$/);
    expect(readArtifacts(join(dir, "dense")).manifest.denseConvs).to.deep.equal([
      "/layer3/layer3.0/conv2/Conv",
      "/layer3/layer3.1/conv1/Conv",
      "/layer3/layer3.1/conv2/Conv",
      "/layer4/layer4.0/conv1/Conv",
      "/layer4/layer4.0/conv2/Conv",
      "/layer4/layer4.1/conv1/Conv",
      "/layer4/layer4.1/conv2/Conv",
    ]);
  });

  it("`artifacts --teacher` writes train_step.onnx, eval.onnx, state.safetensors and manifest.json that read back", async () => {
    const out = join(dir, "a");
    const r = await runCli([
      "artifacts",
      `${FIX}/resnet18w8_fmnist.ts-preserve.onnx`,
      "--out",
      out,
      "--teacher",
      "--optimizer",
      "adamw",
    ]);
    expect(r.stderr).to.equal("");
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(
      /mse loss, adamw, teacher inside; 62 parameter tensors \(\d+ values\), 20 BatchNorm layers, 227 state tensors; nodes: source 68, train step \d+, eval 68/,
    );
    const a = readArtifacts(out);
    const m = a.manifest;
    expect(m.source).to.include({ inputName: "input", outputName: "logits", opset: 17, numClasses: 10 });
    expect(m.inputs).to.deep.equal({ batch: "input", targets: null, lr: "lr", classWeights: null });
    // state names are the source initializer names for params and BN statistics, in that order, then AdamW's
    const source = loadModel(`${FIX}/resnet18w8_fmnist.ts-preserve.onnx`).proto.graph!;
    const params = m.state.filter((s) => s.role === "param");
    expect(params.map((s) => s.name)).to.deep.equal(findParameters(source));
    expect(params.every((s) => s.initializer === s.name && s.eval)).to.equal(true);
    expect(m.state.filter((s) => s.role === "bn_running_var").map((s) => s.name)).to.include(
      "layer2.0.downsample.1.running_var",
    );
    expect(m.state.filter((s) => s.role === "step")).to.have.length(1);
    expect(m.state.filter((s) => s.role === "adam_m" && s.param === "fc.weight")[0]!.dims).to.deep.equal([10, 64]);
    // the eval model is the source graph with the model state as inputs, same node count
    const evalInputs = a.eval.graph!.input.map((i) => i.name);
    expect(evalInputs).to.deep.equal(["input", ...m.state.filter((s) => s.eval).map((s) => s.name)]);
    expect(a.eval.graph!.node.map((n) => n.opType)).to.deep.equal(source.node.map((n) => n.opType));
    // train step: inputs batch, lr, then every state tensor; outputs loss, logits, teacher logits, new state,
    // the new state's sum (the session's finiteness check)
    const trainInputs = a.trainStep.graph!.input.map((i) => i.name);
    expect(new Set(trainInputs)).to.deep.equal(new Set(["input", "lr", ...m.state.map((s) => s.name)]));
    expect(a.trainStep.graph!.output.map((o) => o.name)).to.deep.equal([
      "loss",
      "logits",
      "teacher/logits",
      ...m.state.map((s) => s.output),
      m.outputs.stateSum,
    ]);
    expect(a.trainStep.graph!.initializer.some((t) => t.name === "teacher/conv1.weight")).to.equal(true);
    expect(a.initialState.get("layer1.0.bn1.running_mean")!.data).to.deep.equal(
      readSafetensors(`${FIX}/resnet18w8_fmnist.weights.safetensors`).tensors.get("layer1.0.bn1.running_mean")!.data,
    );
    expect(encodeModel(a.trainStep).length).to.be.above(0);
    const manifest = JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")) as Manifest;
    expect(manifest.nodes.trainStep).to.equal(a.trainStep.graph!.node.length);
    // eval.onnx fed the initial state is PyTorch's model.eval()
    const ref = readSafetensors(`${FIX}/resnet18w8_fmnist.ref.safetensors`).tensors;
    const session = await ort.InferenceSession.create(encodeModel(a.eval));
    const feeds: Record<string, ort.Tensor> = { input: toOrt(ref.get("input")!) };
    for (const s of m.state.filter((e) => e.eval)) feeds[s.name] = toOrt(a.initialState.get(s.name)!);
    const logits = fromOrt((await session.run(feeds)).logits!);
    await session.release();
    expect(relError(logits, ref.get("eval_logits")!)).to.be.below(1e-5);
  });

  it("readArtifacts refuses a state file that does not match the manifest, listing every problem", () => {
    const out = join(dir, "a");
    const state = readSafetensors(join(out, "state.safetensors")).tensors;
    state.delete("fc.bias");
    state.set("extra", state.get("fc.weight")!);
    state.set("conv1.weight", { dtype: "float32", dims: [1], data: Float32Array.of(0) });
    writeSafetensors(join(out, "state.safetensors"), state);
    expect(() => readArtifacts(out)).to.throw(
      /state does not match the manifest: 'conv1\.weight' is float32 \[1\], expected float32 \[8,1,3,3\]; 'fc\.bias' is missing; 'extra' is not in the manifest/,
    );
    writeFileSync(join(out, "manifest.json"), "{}");
    expect(() => readArtifacts(out)).to.throw(
      /invalid artifacts manifest: version undefined, expected 1; 'source' is missing/,
    );
    rmSync(join(out, "eval.onnx"));
    expect(() => readArtifacts(out)).to.throw(/is not an artifacts folder: missing eval\.onnx/);
  });
});
