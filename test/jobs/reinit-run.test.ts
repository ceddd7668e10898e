/**
 * Re-initialisation at the level of the written model: runs whose epochs take no step (maxStepsPerEpoch 0, so the
 * written model is the session right after the forgetting phase), diffed initializer by initializer against the
 * input model, and the fresh values held against the rule (torchvision or PyTorch's default).
 */
import { expect } from "chai";
import { join } from "node:path";
import { unlearn, type UnlearnConfigInput } from "../../src/index.js";
import { layerInventory, type Layer } from "../../src/onnx/layers.js";
import { loadModel } from "../../src/onnx/model-io.js";
import { readManifest } from "../../src/runs/index.js";
import { tempDir } from "../data/make-data.js";
import { changedInitializers, floatValues, initializersOf, sampleStats } from "../helpers/initializers.js";
import { FMNIST_MODEL, npyData } from "../helpers/tiny-job.js";

const layers = layerInventory(loadModel(FMNIST_MODEL)).layers;
const inputTensors = initializersOf(FMNIST_MODEL);
const input = floatValues(inputTensors);
const paramsOf = (names: Iterable<string>) =>
  [...names].flatMap((n) => layers.find((l) => l.name === n)!.params.map((p) => p.name)).sort();

describe("jobs/unlearn: re-initialisation, initializer by initializer", function () {
  this.timeout(120000);
  let tmp: ReturnType<typeof tempDir>;
  let data: string;
  let n = 0;
  before(() => {
    tmp = tempDir("reinit-run");
    data = npyData(tmp.dir);
  });
  after(() => tmp.remove());

  /** One run with no training step; its manifest, and the names of the initializers that changed. */
  async function forgetOnly(config: UnlearnConfigInput, seed = 0) {
    const out = join(tmp.dir, `run${n++}`);
    await unlearn({
      model: FMNIST_MODEL,
      data,
      forget: "random:8",
      config: { batchSize: 8, ...config },
      out,
      seed,
      maxStepsPerEpoch: 0,
      intraOpThreads: 1,
    });
    const manifest = readManifest(out)!;
    const tensors = initializersOf(join(out, "model.onnx"));
    return { manifest, output: floatValues(tensors), changed: changedInitializers(inputTensors, tensors) };
  }

  /** Every tensor of `layer` differs from the input, and follows the rule of `init`. */
  function expectFresh(layer: Layer, output: Map<string, Float32Array>, init: string) {
    for (const p of layer.params) {
      const v = output.get(p.name)!;
      const was = input.get(p.name)!;
      expect(
        Array.from(v).some((x, i) => x !== was[i]),
        `${p.name} unchanged`,
      ).to.equal(true);
      const all = (x: number) => Array.from(v).every((y) => y === x);
      if (p.kind === "bn-scale" || p.kind === "bn-var") expect(all(1), `${p.name} is all 1`).to.equal(true);
      if (p.kind === "bn-bias" || p.kind === "bn-mean") expect(all(0), `${p.name} is all 0`).to.equal(true);
      if (p.kind === "bias" && init === "torchvision") expect(all(0), `${p.name} is all 0`).to.equal(true);
    }
  }

  /** Weights over `sigma` (normal rule) or `bound` (uniform rule), pooled over the layers given. */
  function standardised(ls: Layer[], output: Map<string, Float32Array>, scale: (l: Layer) => number) {
    const z: number[] = [];
    for (const l of ls) {
      const w = l.params.find((p) => p.kind === "weight")!;
      const s = scale(l);
      for (const x of output.get(w.name)!) z.push(x / s);
    }
    return z;
  }
  const dimsOf = (l: Layer) => l.params.find((p) => p.kind === "weight")!.dims;
  // torchvision: kaiming_normal_(mode="fan_out", relu): N(0, 2 / fan_out), fan_out = out_channels * kh * kw
  const kaimingSigma = (l: Layer) => {
    const [o, , kh = 1, kw = 1] = dimsOf(l);
    return Math.sqrt(2 / (o! * kh * kw));
  };
  // PyTorch's default (kaiming_uniform_(a=sqrt(5))): U(-b, b), b = 1 / sqrt(fan_in), fan_in = in_channels * kh * kw
  const uniformBound = (l: Layer) => {
    const [, i, kh = 1, kw = 1] = dimsOf(l);
    return 1 / Math.sqrt(i! * kh * kw);
  };

  it("random: exactly the drawn layers and their BatchNorm change, to N(0, 2/fan_out) weights and fresh BN", async () => {
    const { manifest, output, changed } = await forgetOnly({ epochs: "1", layers: 6 }, 5);
    const [cycle] = manifest.reinitialised!;
    expect(cycle!.draws).to.have.length(6);
    expect(cycle!.layers.length).to.be.within(1, 6);
    expect(changed).to.deep.equal(paramsOf(cycle!.layers));
    const drawn = layers.filter((l) => cycle!.layers.includes(l.name));
    for (const l of drawn) {
      expect(l.role).to.equal("body");
      expectFresh(l, output, "torchvision");
    }
    // each weight tensor alone: sample mean and std within 6 standard errors of the rule's
    for (const l of drawn) {
      const s = kaimingSigma(l);
      const st = sampleStats(output.get(l.params[0]!.name)!);
      expect(Math.abs(st.mean), `${l.name} mean`).to.be.below((6 * s) / Math.sqrt(st.n));
      expect(Math.abs(st.std - s), `${l.name} std`).to.be.below((6 * s) / Math.sqrt(2 * st.n));
    }
  });

  it("per-cycle draws: the union of the cycles' layers is what changed", async () => {
    const { manifest, changed } = await forgetOnly({ epochs: "1,1,1", layers: "1,2,3" }, 1);
    const cycles = manifest.reinitialised!;
    expect(cycles.map((c) => c.draws.length)).to.deep.equal([1, 2, 3]);
    expect(changed).to.deep.equal(paramsOf(new Set(cycles.flatMap((c) => c.layers))));
  });

  it("reinit none changes nothing; all-body changes every body layer and never the classifier or shortcuts", async () => {
    const none = await forgetOnly({ epochs: "1", reinit: "none" });
    expect(none.changed).to.deep.equal([]);
    expect(none.manifest.reinitialised).to.equal(undefined);

    const all = await forgetOnly({ epochs: "1", reinit: "all-body" });
    const body = layers.filter((l) => l.role === "body");
    expect(all.changed).to.deep.equal(paramsOf(body.map((l) => l.name)));
    for (const l of body) expectFresh(l, all.output, "torchvision");
    // pooled over the 17 body convs (~170k weights), standardised by each layer's sigma: N(0, 1)
    const z = standardised(body, all.output, kaimingSigma);
    const st = sampleStats(z);
    expect(Math.abs(st.mean)).to.be.below(6 / Math.sqrt(st.n));
    expect(Math.abs(st.std - 1)).to.be.below(6 / Math.sqrt(2 * st.n));
    // a normal, not a uniform of the same spread: P(|z| < 1) = 0.6827 (a uniform would give 0.577)
    const within = z.filter((x) => Math.abs(x) < 1).length / z.length;
    expect(Math.abs(within - 0.6827)).to.be.below(6 * Math.sqrt((0.6827 * 0.3173) / z.length));
  });

  it("exclude none: the classifier and the projection shortcuts are re-initialised too", async () => {
    const { output, changed } = await forgetOnly({ epochs: "1", reinit: "all-body", exclude: "none" });
    expect(changed).to.deep.equal([...input.keys()].sort());
    for (const l of layers) expectFresh(l, output, "torchvision");
    // the classifier (Gemm): PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)) weights, bias 0 (torchvision)
    const fc = layers.find((l) => l.role === "classifier")!;
    const b = 1 / Math.sqrt(dimsOf(fc)[1]!);
    const w = sampleStats(output.get("fc.weight")!);
    expect(w.max).to.be.at.most(b);
    expect(w.min).to.be.at.least(-b);
    expect(w.max - w.min).to.be.above(b); // spread over the interval, not collapsed
    // the random draw reaches them as well
    // at most the pool's 21 layers per cycle; run seed 1 draws fc and a shortcut among its 21 (with replacement)
    const drawn = await forgetOnly({ epochs: "1", layers: 21, exclude: "none" }, 1);
    const got = drawn.manifest.reinitialised![0]!.layers;
    expect(got).to.include("fc");
    expect(got.some((name) => name.includes("downsample"))).to.equal(true);
    expect(drawn.changed).to.deep.equal(paramsOf(got));
  });

  it("init pytorch-default: weights uniform within +-1/sqrt(fan_in), BN fresh", async () => {
    const { output, changed } = await forgetOnly({ epochs: "1", reinit: "all-body", init: "pytorch-default" });
    const body = layers.filter((l) => l.role === "body");
    expect(changed).to.deep.equal(paramsOf(body.map((l) => l.name)));
    for (const l of body) expectFresh(l, output, "pytorch-default");
    const u = standardised(body, output, uniformBound);
    const st = sampleStats(u);
    expect(st.max).to.be.at.most(1);
    expect(st.min).to.be.at.least(-1);
    // U(-1, 1): mean 0, std 1/sqrt(3) (standard error of the std: 1/sqrt(15 n)), half of it within +-0.5
    expect(Math.abs(st.mean)).to.be.below(6 / Math.sqrt(3 * st.n));
    expect(Math.abs(st.std - 1 / Math.sqrt(3))).to.be.below(6 / Math.sqrt(15 * st.n));
    const half = u.filter((x) => Math.abs(x) < 0.5).length / u.length;
    expect(Math.abs(half - 0.5)).to.be.below(6 * Math.sqrt(0.25 / u.length));
  });
});
