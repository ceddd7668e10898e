import { expect } from "chai";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserError } from "../../src/errors.js";
import { encodeSafetensors, readSafetensors, writeSafetensors } from "../../src/io/safetensors.js";
import { float32, int64, type Tensor } from "../../src/onnx/tensor.js";

const FIXTURE = "test/fixtures/pytorch/resnet18w8_fmnist.weights.safetensors";

/** A safetensors buffer with the given header object and data bytes. */
function raw(header: unknown, data: Uint8Array | number, padTo = 0): Uint8Array {
  let json = typeof header === "string" ? header : JSON.stringify(header);
  json += " ".repeat(Math.max(0, padTo - json.length));
  const h = new TextEncoder().encode(json);
  const body = typeof data === "number" ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + h.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(body, 8 + h.length);
  return out;
}

describe("io/safetensors", () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), "st-"));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("reads the PyTorch fixture and re-encodes it byte for byte", () => {
    const { tensors, metadata } = readSafetensors(FIXTURE);
    expect(tensors.size).to.equal(122);
    expect(tensors.get("conv1.weight")!.dims).to.deep.equal([8, 1, 3, 3]);
    expect(tensors.get("bn1.num_batches_tracked")!.data).to.be.instanceOf(BigInt64Array);
    expect(Buffer.concat(encodeSafetensors(tensors, metadata)).equals(readFileSync(FIXTURE))).to.equal(true);
  });

  it("round-trips every dtype, metadata and the map order, with aligned offsets", () => {
    const tensors = new Map<string, Tensor>([
      ["b", { dtype: "uint8", dims: [3], data: Uint8Array.of(1, 2, 255) }],
      ["a", float32([2, 2], [1.5, -2, 3, 4])],
      ["h", { dtype: "float16", dims: [1], data: Uint16Array.of(0x3c00) }],
      ["i", int64([2], [-(2n ** 62n), 7n])],
      ["scalar", float32([], [0.25])],
      ["empty", float32([0, 4], [])],
    ]);
    const path = join(tmp, "all.safetensors");
    writeSafetensors(path, tensors, { format: "pt", note: "x" });
    const back = readSafetensors(path);
    expect([...back.tensors.keys()]).to.deep.equal([...tensors.keys()]);
    expect(back.metadata).to.deep.equal({ format: "pt", note: "x" });
    for (const [k, t] of tensors) {
      const r = back.tensors.get(k)!;
      expect([r.dtype, r.dims], k).to.deep.equal([t.dtype, t.dims]);
      expect(Array.from(r.data as ArrayLike<number>), k).to.deep.equal(Array.from(t.data as ArrayLike<number>));
    }
    const bytes = readFileSync(path);
    const headerLen = Number(bytes.readBigUInt64LE(0));
    expect(headerLen % 8).to.equal(0);
    const header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString()) as Record<
      string,
      { dtype: string; data_offsets: number[] }
    >;
    const size: Record<string, number> = { I64: 8, F32: 4, F16: 2, U8: 1 };
    for (const [k, e] of Object.entries(header))
      if (k !== "__metadata__") expect(e.data_offsets[0]! % size[e.dtype]!, k).to.equal(0);
  });

  it("widens BF16 to float32 exactly", () => {
    const bf = new Uint8Array(4);
    new DataView(bf.buffer).setUint16(0, 0x3fc0, true); // 1.5
    new DataView(bf.buffer).setUint16(2, 0xc040, true); // -3
    const t = readSafetensors(raw({ x: { dtype: "BF16", shape: [2], data_offsets: [0, 4] } }, bf)).tensors.get("x")!;
    expect([t.dtype, Array.from(t.data as Float32Array)]).to.deep.equal(["float32", [1.5, -3]]);
  });

  describe("bad input: one UserError naming the file and every problem", () => {
    const bad = (bytes: Uint8Array, re: RegExp) =>
      expect(() => readSafetensors(bytes, { name: "w.safetensors" })).to.throw(UserError, re);
    it("header length beyond the file (not safetensors, or truncated)", () => {
      bad(
        new TextEncoder().encode("PK\x03\x04 definitely not safetensors"),
        /w\.safetensors: is not a safetensors file or is truncated/,
      );
      bad(new Uint8Array(3), /w\.safetensors: is not a safetensors file/);
    });
    it("header that is not JSON", () => bad(raw("{nope", 0), /header is not JSON/));
    it("a header that lies about sizes", () => {
      bad(
        raw({ x: { dtype: "F32", shape: [4], data_offsets: [0, 12] } }, 12),
        /'x' spans 12 bytes but F32 \[4\] needs 16/,
      );
    });
    it("data missing at the end (truncated file)", () => {
      bad(
        raw({ x: { dtype: "F32", shape: [4], data_offsets: [0, 16] } }, 10),
        /need 16 bytes of data but the file holds 10/,
      );
    });
    it("overlapping and gapped ranges, all listed", () => {
      bad(
        raw(
          {
            a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
            b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
            c: { dtype: "F32", shape: [1], data_offsets: [16, 20] },
          },
          20,
        ),
        /'b' \[4, 12\) overlaps.*bytes 12\.\.16 of the data belong to no tensor/,
      );
    });
    it("trailing bytes that belong to no tensor", () =>
      bad(raw({ x: { dtype: "U8", shape: [1], data_offsets: [0, 1] } }, 5), /last 4 bytes/));
    it("duplicate names", () => {
      bad(
        raw(
          '{"x":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"x":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}',
          2,
        ),
        /names 'x' more than once/,
      );
    });
    it("unknown dtype and bad shape", () => {
      bad(
        raw(
          {
            x: { dtype: "C64", shape: [1], data_offsets: [0, 8] },
            y: { dtype: "F32", shape: [-1], data_offsets: [8, 8] },
          },
          8,
        ),
        /'x' has unsupported dtype 'C64'.*'y' has shape \[-1\]/,
      );
    });
    it("a file that cannot be read, and nothing written when encoding fails", () => {
      expect(() => readSafetensors(join(tmp, "absent.safetensors"))).to.throw(
        UserError,
        /absent\.safetensors: cannot read/,
      );
      const out = join(tmp, "broken.safetensors");
      const lying = new Map<string, Tensor>([["x", { dtype: "float32", dims: [3], data: new Float32Array(2) }]]);
      expect(() => writeSafetensors(out, lying)).to.throw(UserError, /'x' holds 8 bytes, expected 12/);
      expect(existsSync(out)).to.equal(false);
    });
  });
});
