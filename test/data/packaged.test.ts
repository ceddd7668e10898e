import { expect } from "chai";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { FASHION_MNIST_CLASSES, openSource, type Dataset, type Examples } from "../../src/data/index.js";
import { cacheDir } from "../../src/data/cache.js";
import { tempDir } from "./make-data.js";

const packageDir = (pkg: string) => dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`));

async function imageBytes(e: Examples, position: number): Promise<Uint8Array> {
  const size = e.shape.channels * e.shape.height * e.shape.width;
  const out = new Float32Array(size);
  await e.readImages([position], out);
  return Uint8Array.from(out, (v) => Math.round(v * 255));
}

/** Every image of `e` as 8-bit values, read in chunks. */
async function allBytes(e: Examples): Promise<Uint8Array> {
  const size = e.shape.channels * e.shape.height * e.shape.width;
  const chunk = 4096;
  const floats = new Float32Array(chunk * size);
  const bytes = new Uint8Array(e.count * size);
  for (let start = 0; start < e.count; start += chunk) {
    const n = Math.min(chunk, e.count - start);
    await e.readImages(
      Int32Array.from({ length: n }, (_, k) => start + k),
      floats,
    );
    for (let i = 0; i < n * size; i++) bytes[start * size + i] = Math.round(floats[i] * 255);
  }
  return bytes;
}

/** The pixel bytes of each id in `ids` as a string, from `pixels` (every image of `all`, in order). */
function contentKeys(all: Examples, pixels: Uint8Array, ids: Int32Array): string[] {
  const size = all.shape.channels * all.shape.height * all.shape.width;
  const position = new Map<number, number>();
  all.ids.forEach((id, p) => position.set(id, p));
  const bytes = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.length);
  return Array.from(ids, (id) => bytes.toString("latin1", position.get(id)! * size, (position.get(id)! + 1) * size));
}

describe("data/sources/fashion-mnist (the real package; the first run builds the cache)", () => {
  let d: Dataset;
  let pixels: Uint8Array;
  before(async () => {
    d = await openSource("fashion-mnist");
    pixels = await allBytes(d.all);
  });

  it("has the documented split sizes and per-class counts", async () => {
    expect(d.classNames).to.deep.equal(FASHION_MNIST_CLASSES);
    expect([d.all.count, d.train.count, d.validation.count, d.test.count]).to.deep.equal([69945, 59945, 0, 10000]);
    const per = (e: Examples) => {
      const n = new Array(10).fill(0);
      e.labels.forEach((c) => n[c]++);
      return n;
    };
    expect(per(d.all)).to.deep.equal([6996, 6994, 6987, 6993, 6994, 7000, 6987, 6996, 7000, 6998]);
    expect(per(d.test)).to.deep.equal([1000, 1000, 999, 1000, 1000, 1001, 999, 1000, 1001, 1000]);
    const ids = new Set(d.all.ids);
    for (const gone of [1000, 7001, 948, 48211]) expect(ids.has(gone), `id ${gone}`).to.equal(false);
    const v = await openSource("fashion-mnist", { validationFraction: 0.1 });
    expect([v.train.count, v.validation.count, v.test.count]).to.deep.equal([53950, 5995, 10000]);
    expect(Array.from(v.test.ids)).to.deep.equal(Array.from(d.test.ids)); // validation never moves the test set
  });

  it("never has the same image in train and test (pixel content), nor twice at all", async () => {
    const all = contentKeys(d.all, pixels, d.all.ids);
    expect(new Set(all).size).to.equal(all.length);
    const test = new Set(contentKeys(d.all, pixels, d.test.ids));
    const train = contentKeys(d.all, pixels, d.train.ids);
    expect(train.filter((h) => test.has(h))).to.deep.equal([]);
  });

  it("gives the package's pixel values under the package's ids (classes 0, 6 and 9 checked in full)", async () => {
    const position = new Map<number, number>();
    d.all.ids.forEach((id, p) => position.set(id, p));
    const files = readdirSync(join(packageDir("fashion-mnist"), "src/clothes")).sort(
      (a, b) => parseInt(a) - parseInt(b),
    );
    let firstId = 0,
      checked = 0;
    for (const [label, file] of files.entries()) {
      const path = join(packageDir("fashion-mnist"), "src/clothes", file);
      const entries =
        label === 0 || label === 6 || label === 9
          ? (JSON.parse(readFileSync(path, "utf8")) as { data: number[][] }).data
          : undefined;
      const count = entries?.length ?? (label === 0 ? 7002 : 7000); // the other classes' counts are checked above
      for (let k = 0; entries && k < count; k++) {
        const p = position.get(firstId + k);
        if (p === undefined) continue;
        expect(d.all.labels[p]).to.equal(label);
        const want = entries[k];
        for (let j = 0; j < 784; j++)
          if (pixels[p * 784 + j] !== want[j]) expect.fail(`id ${firstId + k} pixel ${j} differs from the package`);
        checked++;
      }
      firstId += count;
    }
    expect(firstId).to.equal(70002);
    expect(checked).to.equal(6996 + 6987 + 6998);
  });
});

describe("data/sources/mnist and the decoded-data cache", () => {
  const t = tempDir("cache");
  after(() => t.remove());

  it("decodes 10,000 digits to 8 bits, caches them and rebuilds a damaged cache", async () => {
    const d = await openSource("mnist", { cacheDir: t.dir });
    const cache = join(t.dir, "mnist.v1.bin");
    expect(statSync(cache).size).to.be.above(10000 * 784);
    expect([d.all.count, d.train.count, d.test.count]).to.deep.equal([10000, 8000, 2000]);
    const digit3 = (
      JSON.parse(readFileSync(join(packageDir("mnist"), "src/digits/3.json"), "utf8")) as { data: number[] }
    ).data;
    const firstOf3 = d.all.labels.indexOf(3);
    const got = await imageBytes(d.all, firstOf3 + 5);
    const want = digit3.slice(5 * 784, 6 * 784);
    expect(Array.from(got, (u, j) => Math.abs(u / 255 - want[j]) <= 0.0005)).to.not.include(false);

    const cached = await openSource("mnist", { cacheDir: t.dir });
    expect(Array.from(cached.test.ids)).to.deep.equal(Array.from(d.test.ids));
    expect(Array.from(await imageBytes(cached.all, 4321))).to.deep.equal(Array.from(await imageBytes(d.all, 4321)));

    const before = statSync(cache).mtimeMs;
    writeFileSync(cache, readFileSync(cache).subarray(0, 5000)); // damaged
    const rebuilt = await openSource("mnist", { cacheDir: t.dir });
    expect(statSync(cache).mtimeMs).to.be.at.least(before);
    expect(statSync(cache).size).to.be.above(10000 * 784);
    expect(Array.from(await imageBytes(rebuilt.all, 4321))).to.deep.equal(Array.from(await imageBytes(d.all, 4321)));
  });
});

describe("data/cache: cache folder", () => {
  it("defaults to node_modules/.cache/onnx-unlearn, for packages that do not export package.json too", () => {
    const saved = process.env.ONNX_UNLEARN_CACHE_DIR;
    delete process.env.ONNX_UNLEARN_CACHE_DIR;
    try {
      const expected = join(dirname(packageDir("fashion-mnist")), ".cache", "onnx-unlearn");
      expect(cacheDir(undefined, "fashion-mnist")).to.equal(expected);
      expect(cacheDir(undefined, "sharp")).to.equal(expected);
      process.env.ONNX_UNLEARN_CACHE_DIR = "/somewhere/else";
      expect(cacheDir(undefined, "sharp")).to.equal("/somewhere/else");
      expect(cacheDir("/given", "sharp")).to.equal("/given");
    } finally {
      if (saved === undefined) delete process.env.ONNX_UNLEARN_CACHE_DIR;
      else process.env.ONNX_UNLEARN_CACHE_DIR = saved;
    }
  });
});
