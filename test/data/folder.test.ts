import { expect } from "chai";
import { mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { evaluationBatches, openSource, type ReadFailure } from "../../src/data/index.js";
import { UserError } from "../../src/errors.js";
import { chwFloats, pixelsOf, pngOf, tempDir, writePngFolder } from "./make-data.js";

describe("data/sources/folder", () => {
  const t = tempDir("folder");
  const spec = { classes: ["bird", "ant", "cat"], perClass: 4, width: 6, height: 5, channels: 3 as const };
  const rgb = join(t.dir, "rgb");
  before(async () => {
    // written in class order bird, ant, cat; the source sorts: ant=0, bird=1, cat=2
    await writePngFolder(rgb, { ...spec, classes: ["ant", "bird", "cat"] });
    writeFileSync(join(rgb, "ant", "notes.txt"), "not an image");
  });
  after(() => t.remove());

  it("lists classes and files in sorted order and decodes PNGs losslessly to CHW", async () => {
    const d = await openSource(`folder:${rgb}`, { testFraction: 0.25 });
    expect(d.classNames).to.deep.equal(["ant", "bird", "cat"]);
    expect(d.shape).to.deep.equal({ channels: 3, height: 5, width: 6 });
    expect(Array.from(d.all.labels)).to.deep.equal([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
    expect([d.train.count, d.test.count]).to.deep.equal([9, 3]);
    expect(Array.from(d.test.labels)).to.have.members([0, 1, 2]); // stratified: one per class
    expect(d.notes.join(" ")).to.match(/1 files without an image extension ignored/);
    const size = 3 * 5 * 6;
    const out = new Float32Array(2 * size);
    await d.all.readImages([7, 0], out);
    expect(Array.from(out.subarray(0, size))).to.deep.equal(Array.from(chwFloats(pixelsOf(7, size), 5, 6, 3)));
    expect(Array.from(out.subarray(size))).to.deep.equal(Array.from(chwFloats(pixelsOf(0, size), 5, 6, 3)));
  });

  it("holds paths only: views and detached copies reach only their own examples", async () => {
    const d = await openSource(`folder:${rgb}`, { testFraction: 0 });
    expect(d.all.storage()).to.deep.equal({ examples: 12, bytes: 0 });
    const part = d.all.select([2, 9]).detach();
    expect(part.storage().examples).to.equal(2);
    const out = new Float32Array(90);
    await part.readImages([1], out);
    expect(Array.from(out)).to.deep.equal(Array.from(chwFloats(pixelsOf(9, 90), 5, 6, 3)));
  });

  it("converts to the requested channels and decodes JPEG", async () => {
    const dir = join(t.dir, "jpeg");
    mkdirSync(join(dir, "a"), { recursive: true });
    const grey = new Uint8Array(5 * 6).fill(200);
    await pngOf(grey, 6, 5, 1).toFile(join(dir, "a", "grey.png"));
    await sharp(Buffer.from(new Uint8Array(5 * 6 * 3).fill(90)), { raw: { width: 6, height: 5, channels: 3 } })
      .jpeg({ quality: 100 })
      .toFile(join(dir, "a", "flat.jpg"));
    const d = await openSource(`folder:${dir}`, { testFraction: 0 });
    expect(d.shape.channels).to.equal(3); // first file, flat.jpg, is colour
    const out = new Float32Array(2 * 90);
    await d.all.readImages([0, 1], out);
    for (const v of out.subarray(0, 90)) expect(Math.abs(v - 90 / 255)).to.be.at.most(2 / 255); // JPEG is lossy
    for (const v of out.subarray(90)) expect(v).to.equal(Math.fround(200 / 255));
    const asGrey = await openSource(`folder:${dir}`, { testFraction: 0, shape: { channels: 1, height: 5, width: 6 } });
    const one = new Float32Array(30);
    await asGrey.all.readImages([1], one);
    expect(Array.from(one)).to.deep.equal(Array.from(grey, (v) => Math.fround(v / 255)));
  });

  it("uses the given split of a folder with train/ and test/ sub-folders", async () => {
    const dir = join(t.dir, "given");
    await writePngFolder(join(dir, "train"), { classes: ["a", "b"], perClass: 2, width: 3, height: 3, channels: 1 });
    await writePngFolder(join(dir, "test"), { classes: ["a", "c"], perClass: 1, width: 3, height: 3, channels: 1 });
    const d = await openSource(`folder:${dir}`);
    expect(d.classNames).to.deep.equal(["a", "b", "c"]);
    expect(Array.from(d.train.labels)).to.deep.equal([0, 0, 1, 1]);
    expect(Array.from(d.test.ids)).to.deep.equal([4, 5]);
    expect(Array.from(d.test.labels)).to.deep.equal([0, 2]);
    const out = new Float32Array(9);
    await d.test.readImages([1], out); // test/c/img0.png, written as id 1 of its folder
    expect(Array.from(out)).to.deep.equal(Array.from(pixelsOf(1, 9), (v) => Math.fround(v / 255)));
    const err = await openSource(`folder:${dir}`, { testFraction: 0.1 }).catch((e: unknown) => e);
    expect((err as Error).message).to.match(/train\/ and test\/ sub-folders, so its test split is given/);
  });

  describe("pixel cache", () => {
    const cache = join(t.dir, "cache");

    it("decodes once into a row file and reads the same pixels from it", async () => {
      const progress: number[] = [];
      const d = await openSource(`folder:${rgb}`, {
        testFraction: 0.25,
        pixelCache: true,
        cacheDir: cache,
        onProgress: (done) => progress.push(done),
      });
      expect(progress).to.deep.equal([12]);
      const files = readdirSync(cache).filter((f) => f.startsWith("folder-"));
      expect(files).to.have.length(1);
      const plain = await openSource(`folder:${rgb}`, { testFraction: 0.25 });
      expect(Array.from(d.test.ids)).to.deep.equal(Array.from(plain.test.ids));
      const a = new Float32Array(3 * 90),
        b = new Float32Array(3 * 90);
      await d.all.readImages([11, 0, 5], a);
      await plain.all.readImages([11, 0, 5], b);
      expect(Array.from(a)).to.deep.equal(Array.from(b));
      const mtime = statSync(join(cache, files[0])).mtimeMs;
      const again = await openSource(`folder:${rgb}`, {
        pixelCache: true,
        cacheDir: cache,
        onProgress: () => expect.fail("rebuilt"),
      });
      expect(again.all.count).to.equal(12);
      expect(statSync(join(cache, files[0])).mtimeMs).to.equal(mtime);
    });

    it("detached copies (the retain-only view) get a row file of their own rows", async () => {
      const d = await openSource(`folder:${rgb}`, { testFraction: 0, pixelCache: true, cacheDir: cache });
      expect(d.all.storage()).to.deep.equal({ examples: 12, bytes: 0 });
      const part = d.all.select([9, 2, 4]).detach();
      expect(part.storage()).to.deep.equal({ examples: 3, bytes: 0 });
      const out = new Float32Array(90);
      await part.readImages([0], out);
      expect(Array.from(out)).to.deep.equal(Array.from(chwFloats(pixelsOf(9, 90), 5, 6, 3)));
    });

    it("is rebuilt when a file changes, and keeps skipped corrupt files as failures", async () => {
      const dir = join(t.dir, "changing");
      await writePngFolder(dir, { classes: ["a", "b"], perClass: 2, width: 3, height: 3, channels: 1 });
      const before = await openSource(`folder:${dir}`, {
        testFraction: 0,
        pixelCache: true,
        cacheDir: cache,
        onCorrupt: "skip",
      });
      writeFileSync(join(dir, "b", "img0.png"), "broken");
      const after = await openSource(`folder:${dir}`, {
        testFraction: 0,
        pixelCache: true,
        cacheDir: cache,
        onCorrupt: "skip",
      });
      const out = new Float32Array(4 * 9);
      expect(await before.all.readImages([2], out)).to.deep.equal([]);
      const failures = await after.all.readImages([0, 1, 2, 3], out);
      expect(failures.map((f) => [f.index, f.id])).to.deep.equal([[2, 2]]);
      expect(failures[0].message).to.include(join(dir, "b", "img0.png"));
      const stop = await openSource(`folder:${dir}`, { testFraction: 0, pixelCache: true, cacheDir: cache }).catch(
        (e: unknown) => e,
      );
      expect(stop).to.be.instanceOf(UserError);
      expect(readdirSync(cache).filter((f) => f.endsWith(".tmp"))).to.deep.equal([]);
    });
  });

  describe("bad input", () => {
    const bad = join(t.dir, "bad");
    before(async () => {
      await writePngFolder(bad, { classes: ["x", "y"], perClass: 3, width: 4, height: 4, channels: 1 });
      await pngOf(new Uint8Array(5 * 4), 5, 4, 1).toFile(join(bad, "y", "img1.png")); // 4x5 instead of 4x4, id 4
      writeFileSync(join(bad, "x", "img2.png"), Buffer.from("not a png at all")); // id 2
    });

    it("names a corrupt file and stops by default", async () => {
      const d = await openSource(`folder:${bad}`, { testFraction: 0 });
      const err = await d.all.readImages([0, 2], new Float32Array(32)).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(UserError);
      expect((err as Error).message)
        .to.include(join(bad, "x", "img2.png"))
        .and.match(/cannot decode image \(id 2\)/);
    });

    it("skips a corrupt file with the skip policy and reports it", async () => {
      const d = await openSource(`folder:${bad}`, { testFraction: 0, onCorrupt: "skip" });
      const skipped: ReadFailure[] = [];
      const ids: number[] = [];
      for await (const b of evaluationBatches(d.all.select([0, 1, 2, 3]), {
        batchSize: 3,
        onSkip: (f) => skipped.push(f),
      })) {
        ids.push(...b.ids);
        expect(b.x.length).to.equal(b.ids.length * 16);
      }
      expect(ids).to.deep.equal([0, 1, 3]);
      expect(skipped.map((f) => f.id)).to.deep.equal([2]);
      expect(skipped[0].message).to.include("img2.png");
    });

    it("names an image of the wrong size, or resizes it when asked", async () => {
      const d = await openSource(`folder:${bad}`, { testFraction: 0 });
      const err = await d.all.readImages([4], new Float32Array(16)).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(UserError);
      expect((err as Error).message)
        .to.include(join(bad, "y", "img1.png"))
        .and.match(/\(id 4\) is 1x4x5, expected 1x4x4/);
      const resized = await openSource(`folder:${bad}`, { testFraction: 0, resize: true });
      const out = new Float32Array(16).fill(-1);
      expect(await resized.all.readImages([4], out)).to.deep.equal([]);
      expect(Array.from(out)).to.deep.equal(new Array(16).fill(0));
    });

    it("names a folder without classes or images", async () => {
      const empty = join(t.dir, "empty");
      mkdirSync(join(empty, "only"), { recursive: true });
      const e1 = await openSource(`folder:${empty}/only`).catch((e: unknown) => e);
      expect((e1 as Error).message).to.match(/only: no class sub-folders/);
      const e2 = await openSource(`folder:${empty}`).catch((e: unknown) => e);
      expect((e2 as Error).message).to.match(/no image files/);
      const e3 = await openSource(`folder:${t.dir}/absent`).catch((e: unknown) => e);
      expect((e3 as Error).message).to.match(/absent: cannot read folder/);
    });
  });
});
