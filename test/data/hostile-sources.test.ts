/** Data files made to hurt: caches with the right size and wrong bytes, folders where files belong, huge images. */
import { expect } from "chai";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { readCache, writeCache, type CachedImages } from "../../src/data/cache.js";
import { openSource } from "../../src/data/index.js";
import { UserError } from "../../src/errors.js";
import { tempDir, writeCifar } from "./make-data.js";

const images = (): CachedImages => ({
  shape: { channels: 1, height: 2, width: 2 },
  numClasses: 10,
  ids: Int32Array.from([0, 1, 2]),
  labels: Int32Array.from([3, 4, 5]),
  pixels: Uint8Array.from({ length: 12 }, (_, i) => i),
  info: { note: "x" },
});

/** A PNG of only a header claiming width x height (grey), with a tiny IDAT: sharp reads the size, not pixels. */
function pngHeader(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const td = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grey
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(Buffer.alloc(100))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

describe("data: hostile inputs", function () {
  this.timeout(30_000);
  const t = tempDir("hostile");
  after(() => t.remove());

  describe("the decoded-data cache is verified by its stored hash", () => {
    it("reads back what it wrote", () => {
      const p = join(t.dir, "ok.bin");
      writeCache(p, "k", images());
      const back = readCache(p, "k")!;
      expect(Array.from(back.labels)).to.deep.equal([3, 4, 5]);
      expect(Array.from(back.pixels)).to.deep.equal(Array.from(images().pixels));
    });
    it("a file of the right size with other bytes (labels, ids or pixels) reads as absent, to be rebuilt", () => {
      const p = join(t.dir, "bad.bin");
      writeCache(p, "k", images());
      const good = readFileSync(p);
      for (const fromEnd of [1, 13, 20, 24]) {
        const bad = Buffer.from(good);
        bad[bad.length - fromEnd]! ^= 0xff; // pixel, label or id bytes
        writeFileSync(p, bad);
        expect(bad.length).to.equal(good.length);
        expect(readCache(p, "k"), `byte -${fromEnd}`).to.equal(undefined);
      }
    });
    it("a label out of range with a matching hash (a forged file) reads as absent", () => {
      const p = join(t.dir, "forged.bin");
      writeCache(p, "k", { ...images(), labels: Int32Array.from([3, 4, 1_000_000]) });
      expect(readCache(p, "k")).to.equal(undefined);
    });
    it("a packaged source (mnist) rebuilds a damaged cache of the right size", async () => {
      const dir = join(t.dir, "mn");
      const d = await openSource("mnist", { cacheDir: dir });
      const path = join(dir, "mnist.v1.bin");
      const bytes = readFileSync(path);
      bytes.fill(0xee, bytes.length - 200_000); // pixels and nothing else
      writeFileSync(path, bytes);
      const again = await openSource("mnist", { cacheDir: dir });
      expect(again.all.count).to.equal(d.all.count);
      expect(
        readFileSync(path)
          .subarray(-200_000)
          .every((b) => b === 0xee),
      ).to.equal(false);
    });
  });

  it("a CIFAR-10 batch that is a folder: one line naming it", async () => {
    const dir = join(t.dir, "cifar");
    mkdirSync(dir);
    writeCifar(dir, [2, 2, 2, 2, 2, 2]);
    const { rmSync } = await import("node:fs");
    rmSync(join(dir, "data_batch_3.bin"));
    mkdirSync(join(dir, "data_batch_3.bin"));
    let err: unknown;
    await openSource(`cifar10:${dir}`).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(UserError);
    expect((err as Error).message).to.match(/not regular files: data_batch_3\.bin/);
  });

  describe("images: the header is checked before decoding", () => {
    it("a small PNG claiming 16000 x 16000 pixels is refused from its header", async () => {
      const dir = join(t.dir, "huge");
      mkdirSync(join(dir, "a"), { recursive: true });
      writeFileSync(join(dir, "a", "big.png"), pngHeader(16000, 16000));
      const before = process.memoryUsage().rss;
      let err: unknown;
      await openSource(`folder:${dir}`, { testFraction: 0 }).catch((e: unknown) => (err = e));
      expect(err).to.be.instanceOf(UserError);
      expect((err as Error).message).to.match(/big\.png: image of 16000 x 16000 pixels is larger than the limit/);
      // with a given shape and resizing, decoding refuses it as well, before allocating its pixels
      const d = await openSource(`folder:${dir}`, {
        testFraction: 0,
        shape: { channels: 1, height: 8, width: 8 },
        resize: true,
      });
      err = undefined;
      await d.all.readImages([0], new Float32Array(64)).catch((e: unknown) => (err = e));
      expect(err).to.be.instanceOf(UserError);
      expect((err as Error).message).to.match(/big\.png: cannot decode image .*pixel limit/);
      expect(process.memoryUsage().rss - before).to.be.below(200 * 2 ** 20);
    });
  });
});
