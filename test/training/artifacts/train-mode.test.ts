import { expect } from "chai";
import seedrandom from "seedrandom";
import { float } from "../../../src/onnx/attributes.js";
import { float32 } from "../../../src/onnx/tensor.js";
import { buildArtifacts } from "../../../src/training/artifacts/index.js";
import { maxAbsDiff, modelOf, StepRunner, values } from "./helpers.js";

const r = seedrandom("train-mode");
const draw = (n: number, s = 1) => Array.from({ length: n }, () => Math.fround((r() * 2 - 1) * s));

const convWeight = draw(54);

/** Conv 2->3 (3x3) -> BatchNormalization -> GlobalAveragePool -> Flatten -> logits [N,3] */
const convBn = (opset: number) =>
  modelOf((g) => {
    g.addInput("x", "float32", ["N", 2, 5, 5]);
    g.initializer("conv.weight", float32([3, 2, 3, 3], convWeight));
    g.initializer("bn.weight", float32([3], [1.5, 0.5, 1]));
    g.initializer("bn.bias", float32([3], [0.1, -0.2, 0.3]));
    g.initializer("bn.running_mean", float32([3], [0.2, -0.1, 0]));
    g.initializer("bn.running_var", float32([3], [1.2, 0.8, 2]));
    const y = g.op(
      "BatchNormalization",
      [
        g.op("Conv", ["x", "conv.weight"], { pads: [1, 1, 1, 1] }),
        "bn.weight",
        "bn.bias",
        "bn.running_mean",
        "bn.running_var",
      ],
      { epsilon: float(1e-5), momentum: float(0.9) },
    );
    g.node("Flatten", [g.op("GlobalAveragePool", [y])], { outputs: ["logits"] });
    g.addOutput("logits", "float32", ["N", 3]);
  }, opset);

describe("artifacts train mode: BatchNormalization forms and Dropout", () => {
  const batch = float32([4, 2, 5, 5], draw(200));
  const targets = float32([4, 3], draw(12));

  it("the decomposed BN form (any execution provider) gives the node form's loss, gradients and running statistics", async () => {
    const outs = [];
    for (const batchNorm of ["node", "decomposed"] as const) {
      const a = await buildArtifacts(convBn(17), { loss: "mse", batchNorm, gradients: true });
      expect(a.trainStep.graph!.node.some((n) => n.opType === "BatchNormalization")).to.equal(batchNorm === "node");
      const runner = await StepRunner.create(a);
      outs.push({ out: await runner.step({ batch, targets, lr: 0.1 }), a });
      await runner.release();
    }
    const [node, dec] = outs;
    for (const name of [
      "loss",
      "logits",
      "gradients/conv.weight",
      "gradients/bn.weight",
      "gradients/bn.bias",
      "bn.running_mean.new",
      "bn.running_var.new",
    ]) {
      const scale = Math.max(...values(node!.out.get(name)).map(Math.abs));
      expect(maxAbsDiff(values(dec!.out.get(name)), values(node!.out.get(name))), name).to.be.below(1e-5 * scale);
    }
  });

  it("the node form computes each BN's batch statistics once: its gradient shares the forward's", async () => {
    const a = await buildArtifacts(convBn(17), { loss: "mse" });
    const nodes = a.trainStep.graph!.node;
    const bnInput = nodes.find((n) => n.opType === "BatchNormalization")!.input[0]!;
    const readers = (v: string, op: string) => nodes.filter((n) => n.opType === op && n.input[0] === v);
    expect(readers(bnInput, "ReduceMean")).to.have.length(1);
    expect(readers(bnInput, "Sub")).to.have.length(1);
    const centred = readers(bnInput, "Sub")[0]!.output[0]!;
    expect(nodes.filter((n) => n.opType === "Mul" && n.input[0] === centred && n.input[1] === centred)).to.have.length(
      1,
    );
  });
  it("running statistics follow PyTorch (momentum 0.1, unbiased variance); opset 13 BN uses the decomposed form", async () => {
    const a = await buildArtifacts(convBn(13), { loss: "mse", gradients: true });
    expect(a.manifest.batchNorm).to.equal("decomposed");
    const runner = await StepRunner.create(a);
    const out = await runner.step({ batch, targets, lr: 0.1 });
    await runner.release();
    // recompute the conv output's batch statistics by hand
    const w = values(a.initialState.get("conv.weight"));
    const x = values(batch);
    for (let c = 0; c < 3; c++) {
      const conv: number[] = [];
      for (let n = 0; n < 4; n++)
        for (let i = 0; i < 5; i++)
          for (let j = 0; j < 5; j++) {
            let s = 0;
            for (let ci = 0; ci < 2; ci++)
              for (let ki = 0; ki < 3; ki++)
                for (let kj = 0; kj < 3; kj++) {
                  const [ii, jj] = [i + ki - 1, j + kj - 1];
                  if (ii >= 0 && ii < 5 && jj >= 0 && jj < 5)
                    s += x[((n * 2 + ci) * 5 + ii) * 5 + jj]! * w[((c * 2 + ci) * 3 + ki) * 3 + kj]!;
                }
            conv.push(s);
          }
      const mean = conv.reduce((s, v) => s + v) / conv.length;
      const unbiased = conv.reduce((s, v) => s + (v - mean) ** 2, 0) / (conv.length - 1);
      expect(values(out.get("bn.running_mean.new"))[c]).to.be.closeTo(0.9 * [0.2, -0.1, 0][c]! + 0.1 * mean, 1e-6);
      expect(values(out.get("bn.running_var.new"))[c]).to.be.closeTo(0.9 * [1.2, 0.8, 2][c]! + 0.1 * unbiased, 1e-5);
    }
  });

  for (const batchNorm of ["node", "decomposed"] as const)
    it(`BNs with the same momentum update their running statistics together, each as PyTorch does (${batchNorm} form)`, async () => {
      // three BNs over [N,2,3,3]: a (momentum 0.1) on x, b (0.1) on x*x, c (0.2) on x
      const stats = { a: [0.5, -0.5, 1, 2], b: [0.1, 0.2, 0.3, 0.4], c: [0, 1, 3, 4] }; // mean[2], var[2]
      const model = modelOf((g) => {
        g.addInput("x", "float32", ["N", 2, 3, 3]);
        const bn = (name: keyof typeof stats, input: string, momentum: number) => {
          const [m0, m1, v0, v1] = stats[name];
          return g.op(
            "BatchNormalization",
            [
              input,
              g.initializer(`${name}.weight`, float32([2], [1, 2])),
              g.initializer(`${name}.bias`, float32([2], [0, 1])),
              g.initializer(`${name}.running_mean`, float32([2], [m0!, m1!])),
              g.initializer(`${name}.running_var`, float32([2], [v0!, v1!])),
            ],
            { epsilon: float(1e-5), momentum: float(1 - momentum) },
          );
        };
        const sum = g.op("Sum", [bn("a", "x", 0.1), bn("b", g.op("Mul", ["x", "x"]), 0.1), bn("c", "x", 0.2)]);
        g.node("Flatten", [g.op("GlobalAveragePool", [sum])], { outputs: ["logits"] });
        g.addOutput("logits", "float32", ["N", 2]);
      });
      const a = await buildArtifacts(model, { loss: "mse", batchNorm });
      const nodes = a.trainStep.graph!.node;
      const splits = nodes.filter((n) => n.opType === "Split" && n.name.startsWith("batchnorm/running/"));
      expect(splits.map((n) => n.output)).to.deep.equal([
        ["a.running_mean.new", "b.running_mean.new"],
        ["a.running_var.new", "b.running_var.new"],
      ]);
      const x = draw(4 * 2 * 9);
      const runner = await StepRunner.create(a);
      const out = await runner.step({ batch: float32([4, 2, 3, 3], x), targets: float32([4, 2], draw(8)), lr: 0.1 });
      await runner.release();
      for (const [name, square, momentum] of [
        ["a", false, 0.1],
        ["b", true, 0.1],
        ["c", false, 0.2],
      ] as const) {
        for (let c = 0; c < 2; c++) {
          const v = Array.from({ length: 36 }, (_, i) => x[(Math.floor(i / 9) * 2 + c) * 9 + (i % 9)]!).map((e) =>
            square ? e * e : e,
          );
          const mean = v.reduce((s, e) => s + e) / v.length;
          const unbiased = v.reduce((s, e) => s + (e - mean) ** 2, 0) / (v.length - 1);
          const [m, vr] = [stats[name][c]!, stats[name][2 + c]!];
          expect(values(out.get(`${name}.running_mean.new`))[c]).to.be.closeTo(
            (1 - momentum) * m + momentum * mean,
            1e-6,
          );
          expect(values(out.get(`${name}.running_var.new`))[c]).to.be.closeTo(
            (1 - momentum) * vr + momentum * unbiased,
            1e-6,
          );
        }
      }
    });

  it("Dropout drops in the train step (seeded, a fresh mask per run) and stays the identity in the eval model", async () => {
    const model = modelOf((g) => {
      g.addInput("x", "float32", ["N", 64]);
      g.initializer("w", float32([64], new Array(64).fill(1)));
      g.node("Dropout", [g.op("Mul", ["x", "w"])], { outputs: ["logits"], attrs: {} });
      g.addOutput("logits", "float32", ["N", 64]);
    });
    const a = await buildArtifacts(model, { loss: "mse", dropoutSeed: 7 });
    expect(a.eval.graph!.node.find((n) => n.opType === "Dropout")!.input).to.have.length(1);
    const ones = float32([2, 64], new Array(128).fill(1));
    const runner = await StepRunner.create(a);
    const first = values((await runner.step({ batch: ones, targets: ones, lr: 0 })).get("logits"));
    const second = values((await runner.step({ batch: ones, targets: ones, lr: 0 })).get("logits"));
    await runner.release();
    // kept values are scaled by 1 / (1 - 0.5)
    expect(new Set(first)).to.deep.equal(new Set([0, 2]));
    const dropped = first.filter((v) => v === 0).length;
    expect(dropped).to.be.within(32, 96); // 128 draws at p = 0.5: 64 +- 32 is > 5 sigma
    expect(second).to.not.deep.equal(first);
  });
});
