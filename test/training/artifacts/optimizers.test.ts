import { expect } from "chai";
import seedrandom from "seedrandom";
import { float32 } from "../../../src/onnx/tensor.js";
import { ADAMW_DEFAULTS, buildArtifacts, SGD_DEFAULTS } from "../../../src/training/artifacts/index.js";
import { INPUT, mobileNetBlock } from "./architectures.js";
import { maxAbsDiff, StepRunner, tinyModel, values } from "./helpers.js";

const N = 5;
const K = 4;

/** The tiny model's MSE loss and its gradients, in float64: dy = 2 (y - t) / (N K). */
function mseGrads(x: number[], t: number[], w: number[], b: number[]) {
  const gw = new Array(K).fill(0);
  const gb = new Array(K).fill(0);
  let loss = 0;
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const i = n * K + k;
      const diff = x[i]! * w[k]! + b[k]! - t[i]!;
      loss += (diff * diff) / (N * K);
      gw[k] += (2 * diff * x[i]!) / (N * K);
      gb[k] += (2 * diff) / (N * K);
    }
  }
  return { loss, gw, gb };
}

function setup(seed: string) {
  const r = seedrandom(seed);
  const draw = (n: number) => Array.from({ length: n }, () => Math.fround(r() * 2 - 1));
  return { x: draw(N * K), t: draw(N * K), w: draw(K), b: draw(K) };
}

describe("training/artifacts optimizers against hand-computed torch.optim updates (tiny model)", () => {
  it("AdamW: three steps match torch.optim.AdamW's formulas, with the step counter and both moments", async () => {
    const { x, t, w, b } = setup("adamw");
    const a = await buildArtifacts(tinyModel(w, b), { loss: "mse", optimizer: "adamw" });
    expect(a.manifest.state.map((s) => `${s.name}:${s.role}`)).to.deep.equal([
      "w:param",
      "b:param",
      "adamw.step:step",
      "adamw.m/w:adam_m",
      "adamw.v/w:adam_v",
      "adamw.m/b:adam_m",
      "adamw.v/b:adam_v",
    ]);
    const runner = await StepRunner.create(a);
    const h = ADAMW_DEFAULTS;
    const lr = 0.01;
    const p = { w: [...w], b: [...b] };
    const m = { w: new Array(K).fill(0), b: new Array(K).fill(0) };
    const v = { w: new Array(K).fill(0), b: new Array(K).fill(0) };
    for (let step = 1; step <= 3; step++) {
      const ref = mseGrads(x, t, p.w, p.b);
      const out = await runner.step({ batch: float32([N, K], x), targets: float32([N, K], t), lr });
      expect(values(out.get(a.manifest.outputs.loss))[0]).to.be.closeTo(ref.loss, 1e-6 * Math.max(1, ref.loss));
      for (const [name, g] of [
        ["w", ref.gw],
        ["b", ref.gb],
      ] as const) {
        for (let k = 0; k < K; k++) {
          p[name][k] *= 1 - lr * h.weightDecay;
          m[name][k] = h.beta1 * m[name][k] + (1 - h.beta1) * g[k]!;
          v[name][k] = h.beta2 * v[name][k] + (1 - h.beta2) * g[k]! * g[k]!;
          const denom = Math.sqrt(v[name][k]) / Math.sqrt(1 - h.beta2 ** step) + h.eps;
          p[name][k] -= (lr / (1 - h.beta1 ** step)) * (m[name][k] / denom);
        }
        // float32 arithmetic against float64: params ~1, an Adam step moves them by ~lr
        expect(maxAbsDiff(values(runner.state.get(name)), p[name])).to.be.below(2e-6, `${name} after step ${step}`);
        expect(maxAbsDiff(values(runner.state.get(`adamw.m/${name}`)), m[name])).to.be.below(1e-6);
        expect(maxAbsDiff(values(runner.state.get(`adamw.v/${name}`)), v[name])).to.be.below(1e-7);
      }
      expect(values(runner.state.get("adamw.step"))).to.deep.equal([step]);
    }
    await runner.release();
  });

  for (const nesterov of [false, true]) {
    it(`SGD (momentum 0.9, weight decay 5e-4${nesterov ? ", Nesterov" : ""}): three steps match torch.optim.SGD`, async () => {
      const { x, t, w, b } = setup(`sgd${nesterov}`);
      const a = await buildArtifacts(tinyModel(w, b), { loss: "mse", optimizer: "sgd", hyper: { nesterov } });
      expect(a.manifest.hyper).to.include({ ...SGD_DEFAULTS, nesterov });
      const runner = await StepRunner.create(a);
      const { momentum: mu, weightDecay: wd } = SGD_DEFAULTS;
      const lr = 0.1;
      const p = { w: [...w], b: [...b] };
      const buf = { w: [] as number[], b: [] as number[] };
      for (let step = 1; step <= 3; step++) {
        const ref = mseGrads(x, t, p.w, p.b);
        await runner.step({ batch: float32([N, K], x), targets: float32([N, K], t), lr });
        for (const [name, g] of [
          ["w", ref.gw],
          ["b", ref.gb],
        ] as const) {
          for (let k = 0; k < K; k++) {
            const d = g[k]! + wd * p[name][k]!;
            buf[name][k] = step === 1 ? d : mu * buf[name][k]! + d; // torch: buf = d on the first step
            p[name][k] -= lr * (nesterov ? d + mu * buf[name][k]! : buf[name][k]!);
          }
          expect(maxAbsDiff(values(runner.state.get(name)), p[name])).to.be.below(1e-6, `${name} after step ${step}`);
          expect(maxAbsDiff(values(runner.state.get(`sgd.momentum/${name}`)), buf[name])).to.be.below(1e-6);
        }
      }
      await runner.release();
    });
  }

  it("SGD: the 1-D parameters' update runs once over their concatenation, bit for bit the per-parameter formula", async () => {
    const a = await buildArtifacts(mobileNetBlock(), { loss: "mse", gradients: true });
    const params = a.manifest.state.filter((s) => s.role === "param");
    const oneD = params.filter((s) => s.dims.length === 1).map((s) => s.name);
    expect(oneD.length).to.be.above(2);
    const nodes = a.trainStep.graph!.node;
    const splits = nodes.filter((n) => n.opType === "Split" && n.name.startsWith("sgd/1d/"));
    expect(splits.map((n) => n.output.length)).to.deep.equal([oneD.length, oneD.length]); // parameters, momenta
    for (const name of oneD) expect(nodes.some((n) => n.name.startsWith(`sgd/${name}/`))).to.equal(false);
    // the state check leaves out the momenta: a non-finite one always makes its parameter non-finite
    const checked = nodes.filter((n) => n.name.startsWith("state_check/")).flatMap((n) => n.input);
    expect(checked.filter((v) => v.startsWith("sgd.momentum/"))).to.deep.equal([]);

    const r = seedrandom("grouped");
    const runner = await StepRunner.create(a);
    const f = Math.fround;
    const [lr, mu, wd] = [f(0.05), f(SGD_DEFAULTS.momentum), f(SGD_DEFAULTS.weightDecay)];
    const buf = new Map(params.map((s) => [s.name, new Float32Array(values(a.initialState.get(s.name)).length)]));
    for (let step = 0; step < 2; step++) {
      const before = new Map(params.map((s) => [s.name, values(runner.state.get(s.name))]));
      const batch = float32(
        [4, ...INPUT],
        Array.from({ length: 4 * 3 * 8 * 8 }, () => r() * 2 - 1),
      );
      const targets = float32(
        [4, 5],
        Array.from({ length: 20 }, () => r()),
      );
      const out = await runner.step({ batch, targets, lr });
      for (const s of params) {
        const g = values(out.get(a.manifest.outputs.gradients![s.name]));
        const b = buf.get(s.name)!;
        const p = before.get(s.name)!.map((v, i) => {
          b[i] = f(f(mu * b[i]!) + f(g[i]! + f(wd * v)));
          return f(v - f(lr * b[i]!));
        });
        expect(values(runner.state.get(s.name))).to.deep.equal(p, `${s.name} after step ${step + 1}`);
        expect(values(runner.state.get(`sgd.momentum/${s.name}`))).to.deep.equal(Array.from(b));
      }
    }
    await runner.release();
  });

  it("SGD: a multi-dimensional parameter's scalars (hyperparameters, learning rate) are shaped [1, ..., 1] at its rank", async () => {
    const a = await buildArtifacts(mobileNetBlock(), { loss: "mse" });
    const g = a.trainStep.graph!;
    const producer = new Map(g.node.flatMap((n) => n.output.map((o) => [o, n] as const)));
    const initializer = (v: string) => g.initializer.find((t) => t.name === v);
    const multi = a.manifest.state.filter((s) => s.role === "param" && s.dims.length > 1);
    expect(multi.length).to.be.above(1);
    for (const s of multi) {
      const muls = g.node.filter((n) => n.opType === "Mul" && n.name.startsWith(`sgd/${s.name}/`));
      expect(muls, s.name).to.have.length(3); // weight decay, momentum, learning rate
      for (const mul of muls) {
        const [scalar] = mul.input.filter((v) => initializer(v) || producer.get(v)?.opType === "Reshape");
        const reshape = producer.get(scalar!);
        if (reshape) expect(reshape.input[0]).to.equal(a.manifest.inputs.lr);
        const dims = reshape
          ? [Number(initializer(reshape.input[1]!)!.dims[0])]
          : initializer(scalar!)!.dims.map(Number);
        expect(dims, `${mul.name}: ${scalar}`).to.deep.equal(reshape ? [s.dims.length] : s.dims.map(() => 1));
      }
    }
  });
  it("the grouped update before opset 13 (Split sizes as an attribute) steps as at opset 17", async () => {
    const { x, t, w, b } = setup("opset11");
    const states = [];
    for (const opset of [11, 17]) {
      const a = await buildArtifacts(tinyModel(w, b, opset), { loss: "mse" });
      expect(a.trainStep.graph!.node.filter((n) => n.opType === "Split")).to.have.length(2);
      const runner = await StepRunner.create(a);
      for (let step = 0; step < 2; step++)
        await runner.step({ batch: float32([N, K], x), targets: float32([N, K], t), lr: 0.1 });
      states.push(new Map([...runner.state].map(([k, v]) => [k, values(v)])));
      await runner.release();
    }
    expect(states[0]).to.deep.equal(states[1]);
    expect(states[0]!.get("w")).to.not.deep.equal(w);
  });

  it("SGD without momentum keeps no buffer", async () => {
    const a = await buildArtifacts(tinyModel([1, 2], [0, 0]), { loss: "mse", hyper: { momentum: 0 } });
    expect(a.manifest.state.map((s) => s.role)).to.deep.equal(["param", "param"]);
  });
});
