/** Crafted torch.save files: each must end quickly as one UserError line, never a hang, huge allocation or crash. */
import { expect } from "chai";
import { deflateRawSync } from "node:zlib";
import { UserError } from "../../../src/errors.js";
import { readTorchFile } from "../../../src/io/torch/checkpoint.js";
import { unpickle } from "../../../src/io/torch/pickle.js";
import { ZipReader } from "../../../src/io/torch/zip.js";
import { op, pickle, storedZip, tensorOps } from "./build-files.js";

const plain = { file: "x.pth", globals: new Map() };
const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const oneLine = (e: unknown) => e instanceof UserError && !e.message.includes("\n");

function expectUserError(fn: () => unknown, re: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, "threw").to.be.instanceOf(UserError);
  expect(oneLine(err), (err as Error).message).to.equal(true);
  expect((err as Error).message).to.match(re);
}

/** Byte offset of the central directory entry (the first) in a storedZip archive. */
function centralOffset(zip: Uint8Array): number {
  for (let o = 0; o + 4 <= zip.length; o++)
    if (zip[o] === 0x50 && zip[o + 1] === 0x4b && zip[o + 2] === 0x01 && zip[o + 3] === 0x02) return o;
  throw new Error("no central directory");
}

describe("io/torch: hostile files", function () {
  this.timeout(20_000);

  it("a 400 KB LONG4 integer parses in linear time, with the right value", () => {
    const n = 400_000;
    const bytes = new Uint8Array(n);
    bytes[n - 2] = 1; // 2^(8(n-2)), positive
    const t0 = Date.now();
    const v = unpickle(pickle([0x8b, ...u32(n)], [...bytes]), plain).value as bigint;
    expect(Date.now() - t0).to.be.below(3000);
    expect(typeof v).to.equal("bigint");
    expect(v.toString(16)).to.equal(`1${"0".repeat(2 * (n - 2))}`);
    // and a negative one: all bytes 0xff is -1
    expect(unpickle(pickle([0x8b, ...u32(3), 0xff, 0xff, 0xff]), plain).value).to.equal(-1);
  });

  it("a decimal integer longer than Python's 4300-digit limit is refused", () => {
    const digits = new TextEncoder().encode(`${"9".repeat(100_000)}L\n`);
    expectUserError(() => unpickle(pickle([0x4c, ...digits]), plain), /more than 4300 digits/);
  });

  it("a stride-0 tensor larger than its 1-element storage is refused without allocating", () => {
    const pkl = pickle(...tensorOps("0", 1, 0, [1 << 30], [0]));
    const file = storedZip({ "m/data.pkl": pkl, "m/data/0": new Uint8Array(4) });
    expect(file.length).to.be.below(1000);
    expectUserError(
      () => readTorchFile(file, { name: "expand.pth" }),
      /1073741824 elements but its storage '0' holds 1/,
    );
  });

  it("a negative storage offset is refused", () => {
    const file = storedZip({ "m/data.pkl": pickle(...tensorOps("0", 1, -1, [1], [1])), "m/data/0": new Uint8Array(4) });
    expectUserError(() => readTorchFile(file, { name: "neg.pth" }), /tensor geometry/);
  });

  describe("DEFLATE", () => {
    /** A storedZip whose 'm/data/0' entry is the DEFLATE of `data`, claiming `claimed` bytes inflated. */
    function deflated(data: Uint8Array, claimed: number): Uint8Array {
      const raw = deflateRawSync(data);
      const zip = storedZip({ "m/data/0": raw });
      const dv = new DataView(zip.buffer);
      dv.setUint16(8, 8, true); // local header: method
      const c = centralOffset(zip);
      dv.setUint16(c + 10, 8, true);
      dv.setUint32(c + 24, claimed, true);
      return zip;
    }
    it("output stops at the size the entry claims (a bomb claiming 100 bytes)", () => {
      const zip = deflated(new Uint8Array(20 << 20), 100);
      expect(zip.length).to.be.below(100_000);
      expectUserError(() => new ZipReader(zip, "bomb.pth").read("m/data/0"), /inflates to more than the 100 bytes/);
    });
    it("a claim beyond DEFLATE's 1032:1 ratio, or above the limit, is refused before inflating", () => {
      expectUserError(
        () => new ZipReader(deflated(new Uint8Array(1000), 4_000_000_000), "claim.pth").read("m/data/0"),
        /beyond what DEFLATE can do/,
      );
      const big = deflated(new Uint8Array(1 << 20), 1 << 20);
      expectUserError(() => new ZipReader(big, "limit.pth", 1 << 16).read("m/data/0"), /more than the limit of 65536/);
      expect(new ZipReader(big, "ok.pth").read("m/data/0").length).to.equal(1 << 20);
    });
  });

  it("deep nesting (100k lists in lists) neither overflows the stack nor fails", () => {
    const depth = 100_000;
    const ops = [...new Array<number>(depth).fill(0x5d), ...new Array<number>(depth - 1).fill(0x61)];
    const file = storedZip({ "m/data.pkl": pickle(ops) });
    let v = readTorchFile(file, { name: "deep.pth" });
    let d = 1;
    while (Array.isArray(v) && v.length === 1) {
      v = v[0];
      d++;
    }
    expect(d).to.equal(depth);
  });

  it("one APPENDS of 300k items and 100k nested MARKs", () => {
    const n = 300_000;
    const v = unpickle(pickle(0x5d, op.mark, new Array<number>(n).fill(0x4e), 0x65), plain).value as unknown[];
    expect(v.length).to.equal(n);
    const marks = 100_000;
    const t = unpickle(
      pickle(new Array<number>(marks).fill(0x28), 0x29, ...new Array<number[]>(marks).fill([0x74])),
      plain,
    ).value;
    expect(Array.isArray(t)).to.equal(true);
  });

  it("OrderedDict or set built from a non-list is a one-line error", () => {
    const odict = pickle(op.global("collections", "OrderedDict"), op.mark, op.int(5), op.tuple, op.reduce);
    expectUserError(() => readTorchFile(storedZip({ "m/data.pkl": odict }), { name: "od.pth" }), /list of pairs/);
    const set = pickle(op.global("builtins", "set"), op.mark, op.int(5), op.tuple, op.reduce);
    expectUserError(() => readTorchFile(storedZip({ "m/data.pkl": set }), { name: "set.pth" }), /set built from/);
  });

  describe("damaged zip records end as one line, never a RangeError", () => {
    const good = () => storedZip({ "m/data.pkl": pickle(op.emptyDict) });
    it("a zip64 extra field past the end of the file", () => {
      const zip = good();
      const c = centralOffset(zip);
      const dv = new DataView(zip.buffer);
      dv.setUint32(c + 20, 0xffffffff, true); // compressed size lives in the zip64 extra...
      dv.setUint16(c + 30, 200, true); // ...which claims 200 bytes: past the end
      expectUserError(() => readTorchFile(zip, { name: "z64.pth" }), /runs past the end/);
    });
    it("a zip64 extra field too short for the sizes it must hold", () => {
      const base = good();
      const c = centralOffset(base);
      const nameLen = new DataView(base.buffer).getUint16(c + 28, true);
      const at = c + 46 + nameLen;
      // insert an extra field (id 1, 4 bytes) where the 8-byte size belongs
      const zip = Uint8Array.from([...base.subarray(0, at), 1, 0, 4, 0, 0, 0, 0, 0, ...base.subarray(at)]);
      const dv = new DataView(zip.buffer);
      dv.setUint32(c + 24, 0xffffffff, true);
      dv.setUint16(c + 30, 8, true);
      const eocd = zip.length - 22;
      dv.setUint32(eocd + 12, dv.getUint32(eocd + 12, true) + 8, true);
      expectUserError(
        () => readTorchFile(zip, { name: "short.pth" }),
        /zip64 extra field of 'm\/data\.pkl' is too short/,
      );
    });
    it("a truncated archive", () => {
      const zip = good();
      for (const cut of [5, 30, zip.length - 30, zip.length - 10])
        expectUserError(() => readTorchFile(zip.subarray(0, cut), { name: "cut.pth" }), /cut\.pth/);
    });
  });
});
