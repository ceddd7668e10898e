import { expect } from "chai";
import * as ort from "onnxruntime-node";
import seedrandom from "seedrandom";
import type { ModelFile } from "../../../src/onnx/model-io.js";
import { encodeModel } from "../../../src/onnx/proto.js";
import { float32, type Tensor } from "../../../src/onnx/tensor.js";
import { buildArtifacts, findParameters, type Artifacts } from "../../../src/training/artifacts/index.js";
import { CLASSES, INPUT, mobileNetBlock, tinyVit } from "./architectures.js";
import { fromOrt, StepRunner, toOrt, values } from "./helpers.js";

const N = 4;
const r = seedrandom("architectures");
const normal = (n: number) =>
  Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
const batch = float32([N, ...INPUT], normal(N * 192));
const targets = float32([N, CLASSES], normal(N * CLASSES));

/** The loss and every gradient at `state` (lr 0: nothing moves). */
async function evaluate(session: ort.InferenceSession, a: Artifacts, state: Map<string, Tensor>) {
  const m = a.manifest;
  const feeds: Record<string, ort.Tensor> = {
    [m.inputs.batch]: toOrt(batch),
    [m.inputs.targets!]: toOrt(targets),
    [m.inputs.lr]: new ort.Tensor("float32", Float32Array.of(0), []),
  };
  for (const s of m.state) feeds[s.name] = toOrt(state.get(s.name)!);
  const out = await session.run(feeds);
  return {
    loss: Number(out[m.outputs.loss]!.data[0]),
    grads: new Map(Object.entries(m.outputs.gradients!).map(([p, o]) => [p, fromOrt(out[o]!)])),
  };
}

// [title, model, the model for the gradient check, parameters it must find]. ReLU6's kinks make central
// differences of the whole MobileNet block converge too slowly in float32 (BN amplifies small shifts across
// them), so its gradient is checked without the Clips (the Clip rule has its own gradient check) and the
// training run uses the real block.
const cases: [string, () => ModelFile, () => ModelFile, string[]][] = [
  [
    "MobileNetV2 block (Clip as ReLU6, depthwise conv, BN)",
    mobileNetBlock,
    () => mobileNetBlock(false),
    ["features.1.conv.1.0.weight", "features.1.conv.1.1.weight", "classifier.bias"],
  ],
  [
    "ViT block, opset 17 (Erf GELU)",
    () => tinyVit(17),
    () => tinyVit(17),
    ["cls_token", "pos_embed", "attn.qkv.weight_t", "norm1.weight", "patch.bias"],
  ],
  [
    "ViT block, opset 20 (Gelu op)",
    () => tinyVit(20),
    () => tinyVit(20),
    ["cls_token", "mlp.fc1.weight_t", "head.weight"],
  ],
];

describe("artifacts on architectures beyond ResNet (hand-built like PyTorch's exports)", () => {
  for (const [title, make, smooth, expected] of cases) {
    it(`${title}: the gradient matches a central difference of the train step's own loss; 15 SGD steps lower the loss`, async () => {
      expect(findParameters(make().proto.graph!)).to.include.members(expected);
      const a = await buildArtifacts(smooth(), { loss: "mse", gradients: true });
      const session = await ort.InferenceSession.create(encodeModel(a.trainStep));
      const state = a.initialState;
      const at = await evaluate(session, a, state);
      // directional derivative along a random direction v over every parameter: <g, v> vs (L(p+ev) - L(p-ev)) / 2e
      const params = a.manifest.state.filter((s) => s.role === "param");
      const dirs = new Map(params.map((s) => [s.name, normal(values(state.get(s.name)).length)]));
      const shifted = (e: number) =>
        new Map(
          [...state].map(([k, t]) => [
            k,
            dirs.has(k)
              ? float32(
                  t.dims,
                  values(t).map((x, i) => x + e * dirs.get(k)![i]!),
                )
              : t,
          ]),
        );
      const e = 1e-3;
      const numeric =
        ((await evaluate(session, a, shifted(e))).loss - (await evaluate(session, a, shifted(-e))).loss) / (2 * e);
      const analytic = params.reduce(
        (sum, s) => sum + values(at.grads.get(s.name)).reduce((t, g, i) => t + g * dirs.get(s.name)![i]!, 0),
        0,
      );
      // float32 losses ~1 differenced at e = 1e-3: ~1e-4 absolute noise; the e^2 term was ~1e-3 relative (measured
      // by shrinking e: the central differences converge to the analytic value)
      expect(Math.abs(numeric - analytic)).to.be.below(
        3e-3 * Math.abs(analytic) + 1e-3,
        `numeric ${numeric} analytic ${analytic}`,
      );
      await session.release();
      const runner = await StepRunner.create(await buildArtifacts(make(), { loss: "mse" }));
      const losses: number[] = [];
      for (let i = 0; i < 15; i++)
        losses.push(values((await runner.step({ batch, targets, lr: 0.05 })).get("loss"))[0]!);
      await runner.release();
      expect(losses[14]).to.be.below(0.7 * losses[0]!, losses.map((l) => l.toFixed(3)).join(" "));
    });
  }
});
