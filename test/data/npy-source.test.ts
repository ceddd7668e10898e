import { expect } from "chai";
import { join } from "node:path";
import { openSource } from "../../src/data/index.js";
import { UserError } from "../../src/errors.js";
import { writeNpy } from "../../src/io/npy.js";
import { pixelsOf, tempDir, writeNpyPair } from "./make-data.js";

describe("data/sources/npy", () => {
  const t = tempDir("npy-source");
  after(() => t.remove());
  const labels = Array.from({ length: 40 }, (_, i) => i % 4);
  const p = writeNpyPair(t.dir, 40, [1, 4, 4], labels);

  it("reads uint8 [N,C,H,W] as value/255 with row ids and a stratified seeded split", async () => {
    const d = await openSource(`npy:${p.x},${p.y}`, { testFraction: 0.25 });
    expect(d.shape).to.deep.equal({ channels: 1, height: 4, width: 4 });
    expect(d.numClasses).to.equal(4);
    expect(d.test.count).to.equal(10);
    const perClass = [0, 0, 0, 0];
    d.test.labels.forEach((c) => perClass[c]++);
    expect(perClass).to.deep.equal([3, 3, 2, 2]); // 2.5 each, remainders to the lower classes
    const again = await openSource(`npy:${p.x},${p.y}`, { testFraction: 0.25 });
    expect(Array.from(again.test.ids)).to.deep.equal(Array.from(d.test.ids));
    const moved = tempDir("npy-moved");
    try {
      const q = writeNpyPair(moved.dir, 40, [1, 4, 4], labels);
      const elsewhere = await openSource(`npy:${q.x},${q.y}`, { testFraction: 0.25 });
      expect(Array.from(elsewhere.test.ids), "the split must not depend on where the files are").to.deep.equal(
        Array.from(d.test.ids),
      );
    } finally {
      moved.remove();
    }
    const otherSeed = await openSource(`npy:${p.x},${p.y}`, { testFraction: 0.25, splitSeed: "other" });
    expect(Array.from(otherSeed.test.ids)).to.not.deep.equal(Array.from(d.test.ids));
    const out = new Float32Array(16);
    await d.all.readImages([17], out);
    expect(Array.from(out)).to.deep.equal(Array.from(pixelsOf(17, 16), (v) => Math.fround(v / 255)));
  });

  it("reads float images [N,H,W] as they are", async () => {
    const x = join(t.dir, "xf.npy"),
      y = join(t.dir, "yf.npy");
    writeNpy(x, { dtype: "float64", shape: [3, 2, 2], data: Float64Array.from({ length: 12 }, (_, i) => i - 5.5) });
    writeNpy(y, { dtype: "int32", shape: [3], data: Int32Array.from([2, 0, 1]) });
    const d = await openSource(`npy:${x},${y}`, { testFraction: 0, numClasses: 5 });
    expect(d.shape).to.deep.equal({ channels: 1, height: 2, width: 2 });
    expect(d.numClasses).to.equal(5);
    const out = new Float32Array(4);
    await d.train.readImages([2], out);
    expect(Array.from(out)).to.deep.equal([2.5, 3.5, 4.5, 5.5]);
  });

  describe("bad input", () => {
    const fails = async (spec: string, options: object, pattern: RegExp) => {
      const err = await openSource(spec, options).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(UserError);
      expect((err as Error).message).to.match(pattern);
    };

    it("lists labels out of range, naming the file and items", async () => {
      const y = join(t.dir, "ybad.npy");
      writeNpy(y, {
        dtype: "int64",
        shape: [40],
        data: BigInt64Array.from(labels, (l, i) => BigInt(i === 5 ? -1 : i === 9 ? 7 : l)),
      });
      await fails(
        `npy:${p.x},${y}`,
        { numClasses: 4 },
        /ybad\.npy: labels out of range \[0, 4\): item 5 has label -1; item 9 has label 7/,
      );
    });

    it("names count, dtype and shape mismatches", async () => {
      const y = join(t.dir, "yshort.npy");
      writeNpy(y, { dtype: "int64", shape: [39], data: new BigInt64Array(39) });
      await fails(`npy:${p.x},${y}`, {}, /yshort\.npy: 39 labels for 40 images/);
      const yf = join(t.dir, "yfloat.npy");
      writeNpy(yf, { dtype: "float32", shape: [40], data: new Float32Array(40) });
      await fails(`npy:${p.x},${yf}`, {}, /labels must be integers, got float32/);
      const x2 = join(t.dir, "x2.npy");
      writeNpy(x2, { dtype: "uint8", shape: [40, 16], data: new Uint8Array(640) });
      await fails(
        `npy:${x2},${p.y}`,
        {},
        /x2\.npy: images must have shape \[N, C, H, W\] or \[N, H, W\], got \[40, 16\]/,
      );
      const xi = join(t.dir, "xi.npy");
      writeNpy(xi, { dtype: "int32", shape: [40, 1, 1], data: new Int32Array(40) });
      await fails(`npy:${xi},${p.y}`, {}, /images must be uint8, float32 or float64, got int32/);
    });

    it("names images with NaN", async () => {
      const x = join(t.dir, "xnan.npy");
      const data = new Float32Array(3 * 4);
      data[5] = NaN;
      data[11] = Infinity;
      writeNpy(x, { dtype: "float32", shape: [3, 2, 2], data });
      const y = join(t.dir, "y3.npy");
      writeNpy(y, { dtype: "uint8", shape: [3], data: Uint8Array.from([0, 1, 0]) });
      await fails(`npy:${x},${y}`, {}, /xnan\.npy: images with NaN or infinite values: item 1; item 2/);
    });

    it("names bad specs and options", async () => {
      await fails("npy:onlyone.npy", {}, /expected npy:<x\.npy>,<y\.npy>/);
      await fails("npy", {}, /source 'npy' needs <x\.npy>,<y\.npy>/);
      await fails(`npy:${p.x},${p.y}`, { testFraction: 1.5 }, /testFraction must be a number in \[0, 1\), got 1\.5/);
      await fails(`npy:${p.x},${p.y}`, { resize: true }, /option resize does not apply to source 'npy'/);
      await fails("imagenet:/x", {}, /unknown data source 'imagenet'/);
    });
  });
});
