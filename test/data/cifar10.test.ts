import { expect } from "chai";
import { mkdirSync, rmSync, truncateSync } from "node:fs";
import { join } from "node:path";
import { openSource } from "../../src/data/index.js";
import { UserError } from "../../src/errors.js";
import { pixelsOf, tempDir, writeCifar } from "./make-data.js";

describe("data/sources/cifar10", () => {
  const t = tempDir("cifar");
  const perFile = [3, 2, 4, 1, 2, 5];
  let total = 0;
  before(() => {
    total = writeCifar(t.dir, perFile);
  });
  after(() => t.remove());

  it("reads the published binary format: labels, CHW pixels, published split", async () => {
    const d = await openSource(`cifar10:${t.dir}`);
    expect(d.shape).to.deep.equal({ channels: 3, height: 32, width: 32 });
    expect(d.all.count).to.equal(total);
    expect(d.train.count).to.equal(12);
    expect(Array.from(d.test.ids)).to.deep.equal([12, 13, 14, 15, 16]);
    expect(Array.from(d.all.labels)).to.deep.equal(Array.from({ length: total }, (_, i) => i % 10));
    expect(d.classNames[0]).to.equal("airplane");
    const out = new Float32Array(2 * 3072);
    await d.all.readImages([13, 4], out);
    // the record stores 1024 red, 1024 green, 1024 blue bytes: exactly the CHW layout
    expect(Array.from(out.subarray(0, 3072))).to.deep.equal(
      Array.from(pixelsOf(13, 3072), (v) => Math.fround(v / 255)),
    );
    expect(Array.from(out.subarray(3072))).to.deep.equal(Array.from(pixelsOf(4, 3072), (v) => Math.fround(v / 255)));
  });

  it("accepts the folder holding cifar-10-batches-bin", async () => {
    const outer = tempDir("cifar-outer");
    try {
      mkdirSync(join(outer.dir, "cifar-10-batches-bin"));
      writeCifar(join(outer.dir, "cifar-10-batches-bin"), [1, 1, 1, 1, 1, 1]);
      const d = await openSource(`cifar10:${outer.dir}`, { validationFraction: 0.4 });
      expect([d.train.count, d.validation.count, d.test.count]).to.deep.equal([3, 2, 1]);
    } finally {
      outer.remove();
    }
  });

  describe("bad input", () => {
    it("lists every label out of range with file and record", async () => {
      const bad = tempDir("cifar-bad");
      try {
        writeCifar(bad.dir, [2, 2, 2, 2, 2, 2], (id) => (id === 3 || id === 11 ? 10 + id : 0));
        const err = await openSource(`cifar10:${bad.dir}`).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(UserError);
        expect((err as Error).message)
          .to.match(/data_batch_2\.bin: record 1 \(id 3\) has label 13, expected 0-9/)
          .and.match(/test_batch\.bin: record 1 \(id 11\) has label 21/);
      } finally {
        bad.remove();
      }
    });

    it("names missing files and truncated files", async () => {
      const bad = tempDir("cifar-missing");
      try {
        writeCifar(bad.dir, [1, 1, 1, 1, 1, 1]);
        rmSync(join(bad.dir, "data_batch_3.bin"));
        rmSync(join(bad.dir, "test_batch.bin"));
        const missing = await openSource(`cifar10:${bad.dir}`).catch((e: unknown) => e);
        expect((missing as Error).message).to.match(
          /missing CIFAR-10 binary files: data_batch_3\.bin, test_batch\.bin/,
        );
        writeCifar(bad.dir, [1, 1, 1, 1, 1, 1]);
        truncateSync(join(bad.dir, "data_batch_5.bin"), 3000);
        const short = await openSource(`cifar10:${bad.dir}`).catch((e: unknown) => e);
        expect((short as Error).message).to.match(
          /data_batch_5\.bin: 3000 bytes is not a whole number of 3073-byte records/,
        );
      } finally {
        bad.remove();
      }
    });

    it("refuses options that do not apply", async () => {
      const err = await openSource(`cifar10:${t.dir}`, { testFraction: 0.1 }).catch((e: unknown) => e);
      expect((err as Error).message).to.match(/option testFraction does not apply to source 'cifar10'/);
    });
  });
});
