import { expect } from "chai";
import {
  batchCount,
  computeNormalisation,
  evaluationBatches,
  MemoryExamples,
  trainingBatches,
  type Batch,
  type BatchOptions,
  type Examples,
} from "../../src/data/index.js";
import { UserError } from "../../src/errors.js";
import { pixelsOf } from "./make-data.js";

/** n examples of 3x8x8 (pixelsOf(i)), label i % 4, id 1000 + i. */
function examples(n: number): MemoryExamples {
  const size = 3 * 8 * 8;
  const pixels = new Uint8Array(n * size);
  for (let i = 0; i < n; i++) pixels.set(pixelsOf(i, size), i * size);
  return new MemoryExamples({
    shape: { channels: 3, height: 8, width: 8 },
    numClasses: 4,
    pixels,
    ids: Int32Array.from({ length: n }, (_, i) => 1000 + i),
    labels: Int32Array.from({ length: n }, (_, i) => i % 4),
  });
}

async function collect(gen: AsyncGenerator<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of gen) out.push(b);
  return out;
}

const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length));

describe("data/batches", () => {
  const ex = examples(50);
  const clean = async (id: number) => {
    const out = new Float32Array(192);
    await ex.readImages([id - 1000], out);
    return out;
  };

  it("covers every example once per epoch, keeping or dropping the last partial batch", async () => {
    const kept = await collect(trainingBatches(ex, { batchSize: 16, seed: 1 }));
    expect(kept.map((b) => b.ids.length)).to.deep.equal([16, 16, 16, 2]);
    expect(kept.flatMap((b) => [...b.ids]).sort((a, b) => a - b)).to.deep.equal(Array.from(ex.ids));
    expect(batchCount(ex, { batchSize: 16 })).to.equal(4);
    const dropped = await collect(trainingBatches(ex, { batchSize: 16, seed: 1, dropLast: true }));
    expect(dropped.map((b) => b.ids.length)).to.deep.equal([16, 16, 16]);
    expect(dropped[2].dims).to.deep.equal([16, 3, 8, 8]);
  });

  it("gives the same batches bit for bit for the same seed and epoch, others for another", async () => {
    const opts: BatchOptions = { batchSize: 20, seed: "run-7", epoch: 3 };
    const [a, b] = await Promise.all([
      collect(trainingBatches(ex, opts)),
      collect(trainingBatches(ex, { ...opts, prefetch: 1 })),
    ]);
    expect(a.map((x) => [...x.ids])).to.deep.equal(b.map((x) => [...x.ids]));
    a.forEach((batch, i) => expect(bits(batch.x)).to.deep.equal(bits(b[i].x)));
    const nextEpoch = await collect(trainingBatches(ex, { ...opts, epoch: 4 }));
    expect(nextEpoch.map((x) => [...x.ids])).to.not.deep.equal(a.map((x) => [...x.ids]));
    const otherSeed = await collect(trainingBatches(ex, { ...opts, seed: "run-8" }));
    expect(otherSeed.map((x) => [...x.ids])).to.not.deep.equal(a.map((x) => [...x.ids]));
  });

  it("adds Gaussian noise of the given sigma after normalisation", async () => {
    const big = examples(400);
    const norm = await computeNormalisation(big);
    const sigma = 0.05;
    const noisy = await collect(
      trainingBatches(big, { batchSize: 128, normalisation: norm, noiseSigma: sigma, seed: 2 }),
    );
    const plain = await collect(trainingBatches(big, { batchSize: 128, normalisation: norm, noiseSigma: 0, seed: 2 }));
    let n = 0,
      sum = 0,
      sumSq = 0;
    noisy.forEach((b, i) => {
      expect([...b.ids]).to.deep.equal([...plain[i].ids]);
      b.x.forEach((v, j) => {
        const e = v - plain[i].x[j];
        n++;
        sum += e;
        sumSq += e * e;
      });
    });
    const mean = sum / n,
      std = Math.sqrt(sumSq / n - mean * mean);
    // n = 76,800 draws: the sample mean has sd sigma/sqrt(n) = 1.8e-4, the sample sd has sd sigma/sqrt(2n) = 1.3e-4
    expect(Math.abs(mean)).to.be.below((5 * sigma) / Math.sqrt(n));
    expect(Math.abs(std - sigma)).to.be.below((5 * sigma) / Math.sqrt(2 * n) + 1e-6);
  });

  it("normalises per channel: (x - mean[c]) / std[c]", async () => {
    const norm = { mean: [0.1, 0.5, 0.9], std: [0.2, 0.25, 0.5] };
    const [b] = await collect(evaluationBatches(ex, { batchSize: 2, normalisation: norm }));
    expect([...b.ids]).to.deep.equal([1000, 1001]);
    const x0 = await clean(1001);
    for (let c = 0; c < 3; c++) {
      for (const i of [0, 17, 63]) {
        const want = (x0[c * 64 + i] - norm.mean[c]) / norm.std[c];
        expect(b.x[192 + c * 64 + i]).to.be.closeTo(want, 4 * 2 ** -23 * (Math.abs(want) + 1 / norm.std[c]));
      }
    }
    const computed = await computeNormalisation(ex);
    const [all] = await collect(evaluationBatches(ex, { batchSize: 50, normalisation: computed }));
    for (let c = 0; c < 3; c++) {
      let s = 0,
        q = 0;
      for (let k = 0; k < 50; k++)
        for (let i = 0; i < 64; i++) {
          const v = all.x[k * 192 + c * 64 + i];
          s += v;
          q += v * v;
        }
      expect(s / 3200).to.be.closeTo(0, 1e-5);
      expect(q / 3200).to.be.closeTo(1, 1e-4);
    }
  });

  it("gives int64 or int32 labels and class weights", async () => {
    const [b64] = await collect(evaluationBatches(ex, { batchSize: 5 }));
    expect(b64.y).to.be.instanceOf(BigInt64Array);
    expect([...b64.y]).to.deep.equal([0n, 1n, 2n, 3n, 0n]);
    expect(b64.weights).to.equal(undefined);
    const [b32] = await collect(
      evaluationBatches(ex, { batchSize: 5, labelType: "int32", classWeights: [1, 2, 3, 4] }),
    );
    expect([...b32.y]).to.deep.equal([0, 1, 2, 3, 0]);
    expect([...b32.weights!]).to.deep.equal([1, 2, 3, 4, 1]);
    const [bal] = await collect(evaluationBatches(ex, { batchSize: 4, classWeights: "balanced" }));
    // 50 examples, 4 classes: 13, 13, 12, 12 -> 50 / (4 * count)
    expect([...bal.weights!]).to.deep.equal([50 / 52, 50 / 52, 50 / 48, 50 / 48].map(Math.fround));
  });

  it("prepares the next batches while the consumer awaits", async () => {
    let reads = 0;
    const spy: Examples = Object.assign(Object.create(ex) as MemoryExamples, {
      readImages: (p: ArrayLike<number>, out: Float32Array) => {
        reads++;
        return ex.readImages(p, out);
      },
    });
    const gen = trainingBatches(spy, { batchSize: 10, prefetch: 2 });
    await gen.next();
    const afterFirst = reads;
    // the consumer's async work (an ORT step): meanwhile batches 1 and 2 get prepared without being asked for
    for (const until = Date.now() + 5000; reads < 3 && Date.now() < until;) await new Promise((r) => setTimeout(r, 1));
    expect(afterFirst).to.be.at.most(2);
    expect(reads).to.equal(3);
    await new Promise((r) => setTimeout(r, 20));
    expect(reads).to.equal(3); // and no further than the prefetch depth
    await gen.return(undefined);
  });

  describe("bad options", () => {
    it("names every bad option at once", async () => {
      const err = await collect(trainingBatches(ex, { batchSize: 0, epoch: -1, noiseSigma: -1 })).catch(
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(UserError);
      expect((err as Error).message).to.match(
        /batchSize must be a positive integer, got 0; epoch must be an integer >= 0, got -1; noiseSigma must be >= 0, got -1/,
      );
    });

    it("names bad normalisation, class weights and empty sets", async () => {
      const e1 = await collect(trainingBatches(ex, { normalisation: { mean: [0], std: [1, 0, 1] } })).catch(
        (e: unknown) => e,
      );
      expect((e1 as Error).message).to.match(
        /mean has 1 values, the images have 3 channels; std must be finite and > 0/,
      );
      const e2 = await collect(trainingBatches(ex, { classWeights: [1, 2] })).catch((e: unknown) => e);
      expect((e2 as Error).message).to.match(/classWeights must be 4 finite numbers >= 0/);
      const e3 = await collect(trainingBatches(ex.select([]))).catch((e: unknown) => e);
      expect((e3 as Error).message).to.match(/no examples to batch/);
    });
  });
});
