import { expect } from "chai";
import { rngFor } from "../../src/data/random.js";
import { layerInventory } from "../../src/onnx/layers.js";
import { loadModel, readInitializers } from "../../src/onnx/model-io.js";
import { drawLayers, freshLayerTensors } from "../../src/unlearning/reinit.js";

const model = loadModel("test/fixtures/pytorch/resnet18w8_fmnist.ts-preserve.onnx");
const layers = layerInventory(model).layers;
const pool = layers.filter((l) => l.reinit);

function stats(a: Float32Array) {
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  const std = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
  return { mean, std, min: Math.min(...a), max: Math.max(...a) };
}

describe("unlearning/reinit", () => {
  it("draws only body layers, never the classifier or projection shortcuts", () => {
    expect(pool.map((l) => l.name)).to.not.include("fc");
    expect(pool.some((l) => l.name.includes("downsample"))).to.equal(false);
    expect(pool).to.have.length(17);
    const seen = new Set<string>();
    for (let s = 0; s < 50; s++) drawLayers(pool, 6, rngFor(s, "reinit")).draws.forEach((d) => seen.add(d));
    expect(seen.size).to.equal(17);
  });

  it("draws k times with replacement, reproducibly per seed, differently across seeds", () => {
    const a = drawLayers(pool, 6, rngFor(1, "reinit", 0));
    const b = drawLayers(pool, 6, rngFor(1, "reinit", 0));
    const c = drawLayers(pool, 6, rngFor(2, "reinit", 0));
    expect(a.draws).to.have.length(6);
    expect(a).to.deep.equal(b);
    expect(c.draws).to.not.deep.equal(a.draws);
    expect(a.layers.length).to.equal(new Set(a.draws).size);
    // with replacement: over many seeds some draw repeats a layer (17 layers, 6 draws: P(no repeat) ~ 0.36)
    const repeats = Array.from({ length: 30 }, (_, s) => drawLayers(pool, 6, rngFor(s)).layers.length < 6).filter(
      Boolean,
    ).length;
    expect(repeats).to.be.greaterThan(5);
  });

  it("gives conv + BN layers torchvision's fresh values", () => {
    const layer = pool.find((l) => l.name === "layer3.0.conv1")!;
    const current = readInitializers(model);
    const fresh = freshLayerTensors(layer, current, "torchvision", rngFor(0));
    const byKind = new Map(layer.params.map((p) => [p.kind, fresh.get(p.name)!]));
    const w = byKind.get("weight")!;
    expect(w.dims).to.deep.equal(current.get(layer.params.find((p) => p.kind === "weight")!.name)!.dims);
    const fanOut = w.dims[0]! * w.dims[2]! * w.dims[3]!;
    const s = stats(w.data as Float32Array);
    // N(0, 2/fan_out) over 9,216 draws: the sample std is within a few percent
    expect(s.std).to.be.closeTo(Math.sqrt(2 / fanOut), 0.05 * Math.sqrt(2 / fanOut));
    expect(Math.abs(s.mean)).to.be.lessThan(0.05 * Math.sqrt(2 / fanOut));
    expect([...(byKind.get("bn-scale")!.data as Float32Array)].every((v) => v === 1)).to.equal(true);
    expect([...(byKind.get("bn-bias")!.data as Float32Array)].every((v) => v === 0)).to.equal(true);
    expect([...(byKind.get("bn-mean")!.data as Float32Array)].every((v) => v === 0)).to.equal(true);
    expect([...(byKind.get("bn-var")!.data as Float32Array)].every((v) => v === 1)).to.equal(true);
  });

  it("gives PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with pytorch-default", () => {
    const layer = pool.find((l) => l.name === "layer4.1.conv2")!;
    const fresh = freshLayerTensors(layer, readInitializers(model), "pytorch-default", rngFor(3));
    const w = fresh.get(layer.params.find((p) => p.kind === "weight")!.name)!;
    const bound = 1 / Math.sqrt(w.dims[1]! * w.dims[2]! * w.dims[3]!);
    const s = stats(w.data as Float32Array);
    expect(s.max).to.be.at.most(bound);
    expect(s.min).to.be.at.least(-bound);
    expect(s.std).to.be.closeTo(bound / Math.sqrt(3), 0.05 * bound);
  });

  it("re-initialises BN-folded exports (conv bias 0, weights fresh)", () => {
    const folded = loadModel("test/fixtures/pytorch/resnet18w8_fmnist.ts-eval.onnx");
    const body = layerInventory(folded).layers.filter((l) => l.reinit);
    expect(body).to.have.length(17);
    const layer = body[3]!;
    const fresh = freshLayerTensors(layer, readInitializers(folded), "torchvision", rngFor(0));
    const bias = layer.params.find((p) => p.kind === "bias")!;
    expect([...(fresh.get(bias.name)!.data as Float32Array)].every((v) => v === 0)).to.equal(true);
  });

  it("refuses an empty pool and a bad k", () => {
    expect(() => drawLayers([], 6, rngFor(0))).to.throw(/no layer that may be re-initialised/);
    expect(() => drawLayers(pool, -1, rngFor(0))).to.throw(/integer >= 0/);
  });
});
