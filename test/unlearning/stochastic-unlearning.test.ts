import { expect } from "chai";
import { MemoryExamples, retainOnlyOf, type RetainOnly } from "../../src/data/index.js";
import { rngFor } from "../../src/data/random.js";
import { loadModel, modelBytes, readInitializers } from "../../src/onnx/model-io.js";
import { withWeights } from "../../src/interop/with-weights.js";
import { layerInventory } from "../../src/onnx/layers.js";
import {
  stochasticUnlearning,
  type ProgressEvent,
  type UnlearnOptions,
} from "../../src/unlearning/stochastic-unlearning.js";

const FIXTURE = "test/fixtures/pytorch/resnet18w8_fmnist.ts-preserve.onnx";

function randomRetain(count: number): RetainOnly {
  const rng = rngFor("retain-fixture");
  return retainOnlyOf(
    new MemoryExamples({
      shape: { channels: 1, height: 28, width: 28 },
      numClasses: 10,
      pixels: Uint8Array.from({ length: count * 784 }, () => Math.floor(rng() * 256)),
      ids: Int32Array.from({ length: count }, (_, i) => i),
      labels: Int32Array.from({ length: count }, (_, i) => i % 10),
    }),
  );
}

async function run(extra: Partial<UnlearnOptions> = {}) {
  const events: ProgressEvent[] = [];
  const r = await stochasticUnlearning({
    model: loadModel(FIXTURE),
    retain: randomRetain(64),
    config: { epochs: [1, 1], layers: 3, batchSize: 16 },
    maxStepsPerEpoch: 3,
    intraOpThreads: 1,
    seed: 5,
    onProgress: (e) => events.push(e),
    ...extra,
  });
  try {
    return { bytes: modelBytes(withWeights(loadModel(FIXTURE), r.session.getParameters())), cycles: r.cycles, events };
  } finally {
    await r.session.release();
  }
}

describe("unlearning/stochasticUnlearning", function () {
  this.timeout(240000);
  let first: Awaited<ReturnType<typeof run>>;
  before(async () => {
    first = await run();
  });

  it("runs the cycles: k draws from the body, then remembering steps with a finite, falling MSE", () => {
    const body = new Set(
      layerInventory(loadModel(FIXTURE))
        .layers.filter((l) => l.reinit)
        .map((l) => l.name),
    );
    expect(first.cycles).to.have.length(2);
    for (const c of first.cycles) {
      expect(c.draws).to.have.length(3);
      for (const d of c.draws) expect(body.has(d), d).to.equal(true);
      expect(c.epochs).to.have.length(1);
      expect(c.epochs[0]!.images).to.equal(48);
    }
    const steps = first.events.filter((e): e is Extract<ProgressEvent, { kind: "step" }> => e.kind === "step");
    expect(steps).to.have.length(6);
    expect(steps.every((s) => Number.isFinite(s.loss) && s.loss > 0)).to.equal(true);
    // right after a re-initialisation the student is far from the teacher; three steps pull it back
    expect(steps[2]!.loss).to.be.lessThan(steps[0]!.loss);
  });

  it("writes the same graph, names and opset with new weights", () => {
    const original = loadModel(FIXTURE);
    const out = loadModel(first.bytes);
    const g0 = original.proto.graph!,
      g1 = out.proto.graph!;
    expect(g1.node.map((n) => [n.opType, n.name, n.input, n.output])).to.deep.equal(
      g0.node.map((n) => [n.opType, n.name, n.input, n.output]),
    );
    expect(g1.input.map((i) => i.name)).to.deep.equal(g0.input.map((i) => i.name));
    expect(g1.output.map((i) => i.name)).to.deep.equal(g0.output.map((i) => i.name));
    expect(out.proto.opsetImport).to.deep.equal(original.proto.opsetImport);
    const before = readInitializers(original),
      after = readInitializers(out);
    expect([...after.keys()]).to.deep.equal([...before.keys()]);
    expect(out.proto.producerName).to.equal(original.proto.producerName);
    const drawn = first.cycles[1]!.layers[0]!;
    const w = `${drawn}.weight`;
    expect(
      Buffer.compare(
        Buffer.from((after.get(w)!.data as Float32Array).buffer),
        Buffer.from((before.get(w)!.data as Float32Array).buffer),
      ),
    ).to.not.equal(0);
  });

  it("is reproducible from its seed and differs across seeds", async () => {
    const again = await run();
    expect(Buffer.compare(Buffer.from(again.bytes), Buffer.from(first.bytes))).to.equal(0);
    const other = await run({ seed: 6 });
    expect(other.cycles[0]!.draws).to.not.deep.equal(first.cycles[0]!.draws);
  });

  it("refuses a retain set smaller than a batch and bad cycle lists", async () => {
    let err: unknown;
    try {
      await stochasticUnlearning({ model: loadModel(FIXTURE), retain: randomRetain(8), config: { batchSize: 16 } });
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.match(/retain set has 8 examples, fewer than one batch of 16/);
    err = undefined;
    try {
      await stochasticUnlearning({ model: loadModel(FIXTURE), retain: randomRetain(32), config: { epochs: [1.5] } });
    } catch (e) {
      err = e;
    }
    expect(String(err)).to.match(/whole numbers/);
  });
});
