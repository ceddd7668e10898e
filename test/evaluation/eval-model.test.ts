import { expect } from "chai";
import { openSource, selectForget, splitTrain, type Dataset, type ForgetSet } from "../../src/data/index.js";
import { rngFor } from "../../src/data/random.js";
import { UserError } from "../../src/errors.js";
import { evaluateModel, shortestFloat32, type ModelEvaluation } from "../../src/evaluation/eval-model.js";
import { logitScaledConfidence } from "../../src/evaluation/per-example.js";
import { withWeights } from "../../src/interop/with-weights.js";
import { buildZooModel } from "../../src/models/index.js";
import type { ModelFile } from "../../src/onnx/model-io.js";
import { fitClassifier } from "../../src/training/fit.js";
import { tempDir, writeNpyPair } from "../data/make-data.js";

/**
 * 1,500 random 8x8 images with random labels: 600 test, 900 train. A tiny ResNet memorises the 300 retain images
 * (train minus a random forget set of 600) and has nothing to generalise from, so it never saw the forget set or
 * the test set (MIA about 0.5), while a forget set drawn from what it trained on is plain to see.
 */
describe("evaluation/evaluateModel", function () {
  this.timeout(120000);
  const t = tempDir("eval-model");
  let dataset: Dataset;
  let unseen: ForgetSet;
  let model: ModelFile;
  let fresh: ModelFile;
  let onUnseen: ModelEvaluation;
  let onSeen: ModelEvaluation;
  let seen: ForgetSet;

  before(async () => {
    const rng = rngFor("eval-model labels");
    const labels = Array.from({ length: 1500 }, () => Math.floor(rng() * 10));
    const p = writeNpyPair(t.dir, 1500, [1, 8, 8], labels);
    dataset = await openSource(`npy:${p.x},${p.y}`, { testFraction: 0.4 });
    unseen = selectForget(dataset, { kind: "random", count: 600 }, { seed: 0 });
    const retain = splitTrain(dataset, unseen).retain;
    fresh = {
      proto: buildZooModel("resnet18w8", { channels: 1, classes: 10, imageSize: 8, seed: 0 }),
      file: "tiny.onnx",
    };
    const losses: number[] = [];
    const session = await fitClassifier({
      model: fresh,
      data: retain,
      epochs: 20,
      lr: 0.1,
      batchSize: 32,
      intraOpThreads: 1,
      onEpoch: (e) => losses.push(e.meanLoss), // (fitClassifier runs the epochs only when onEpoch is given)
    });
    expect(losses.at(-1)).to.be.lessThan(0.5);
    model = withWeights(fresh, session.getParameters());
    await session.release();
    seen = selectForget(dataset, { kind: "ids", ids: Array.from(retain.ids.subarray(0, 200)) });
    onUnseen = await evaluateModel({ model, dataset, forget: unseen, intraOpThreads: 1, retainLogits: 50 });
    onSeen = await evaluateModel({ model, dataset, forget: seen, intraOpThreads: 1 });
  });
  after(() => t.remove());

  it("MIA is about 0.5 on a model that saw neither the forget nor the test set", () => {
    const m = onUnseen.mia!;
    console.log(
      `      MIA never seen: ${m.accuracy.toFixed(3)} ± ${m.std.toFixed(3)}; trained on: ${onSeen.mia!.accuracy.toFixed(3)} ± ${onSeen.mia!.std.toFixed(3)}`,
    );
    expect(onUnseen.splits.retain!.accuracy).to.be.greaterThan(0.9); // it did memorise its training set
    expect(m.perSide).to.equal(600);
    expect(m.splitAccuracies).to.have.length(10);
    expect(m.accuracy).to.be.within(0.4, 0.6);
  });

  it("MIA is clearly above 0.5 on a forget set the model trained on", () => {
    const m = onSeen.mia!;
    expect(m.perSide).to.equal(200);
    expect(m.testCount).to.equal(600);
    expect(m.accuracy).to.be.greaterThan(0.8);
  });

  it("reports every non-empty split with per-class accuracy", () => {
    expect(Object.keys(onUnseen.splits)).to.deep.equal(["retain", "forget", "test"]); // no validation split
    expect(onUnseen.splits.forget!.count).to.equal(600);
    expect(onUnseen.splits.test!.count).to.equal(600);
    for (const s of Object.values(onUnseen.splits)) {
      expect(s.perClass).to.have.length(10);
      expect(s.perClass.reduce((a, c) => a + c.count, 0)).to.equal(s.count);
      expect(s.perClass.reduce((a, c) => a + c.correct, 0)).to.equal(s.correct);
    }
  });

  it("keeps the forget set's confidences and logits in ascending id order, and a seeded retain sample", () => {
    const f = onUnseen.forget;
    expect(f.ids).to.deep.equal(Array.from(unseen.ids));
    expect(f.confidences).to.have.length(600);
    expect(f.logits[0]).to.have.length(10);
    // the stored logits are the shortest decimals of the model's float32 logits
    f.logits.forEach((z, i) =>
      expect(f.confidences[i]).to.equal(logitScaledConfidence(z.map(Math.fround), f.labels[i]!)),
    );
    expect(onUnseen.retainSample.ids).to.have.length(50);
    expect([...onUnseen.retainSample.ids].sort((a, b) => a - b)).to.deep.equal(onUnseen.retainSample.ids);
    const retainIds = new Set(splitTrain(dataset, unseen).retain.ids);
    expect(onUnseen.retainSample.ids.every((id) => retainIds.has(id))).to.equal(true);
  });

  it("stores float32 logits in their shortest exact decimal form", () => {
    for (const v of [0.1, -3.14159, 1e-8, 123456.789, 0]) {
      const f = Math.fround(v);
      expect(Math.fround(shortestFloat32(f))).to.equal(f);
      expect(String(shortestFloat32(f)).length).to.be.at.most(String(f).length);
    }
    expect(shortestFloat32(Math.fround(0.1))).to.equal(0.1);
  });

  it("rejects a model whose input does not fit the images (one UserError naming both)", async () => {
    const wrong: ModelFile = {
      proto: buildZooModel("resnet18w8", { channels: 3, classes: 10, imageSize: 8 }),
      file: "rgb.onnx",
    };
    const err = await evaluateModel({ model: wrong, dataset, forget: unseen }).catch((e: Error) => e);
    expect(err).to.be.instanceOf(UserError);
    expect((err as Error).message).to.match(
      /npy:.*does not fit model rgb\.onnx.*images have 1 channels, the model expects 3/,
    );
    expect((err as Error).message).to.not.include("\n");
    const few: ModelFile = {
      proto: buildZooModel("resnet18w8", { channels: 1, classes: 5, imageSize: 8 }),
      file: "k5.onnx",
    };
    const e2 = await evaluateModel({ model: few, dataset, forget: unseen }).catch((e: Error) => e);
    expect((e2 as Error).message).to.match(/labels out of range for a model with 5 classes/);
  });

  it("skips the attack, saying why, when the forget set is too small", async () => {
    const tiny = selectForget(dataset, { kind: "ids", ids: Array.from(dataset.train.ids.subarray(0, 3)) });
    const r = await evaluateModel({ model: fresh, dataset, forget: tiny, intraOpThreads: 1, retainLogits: 0 });
    expect(r.mia).to.equal(null);
    expect(r.miaSkipped).to.equal("needs at least 6 forget and 6 test examples, has 3 and 600");
    expect(r.retainSample.ids).to.deep.equal([]);
  });
});
