import { expect } from "chai";
import { join } from "node:path";
import { UserError } from "../../src/errors.js";
import { decodeNpy, encodeNpy, readNpy, writeNpy, type NpyArray } from "../../src/io/npy.js";
import { tempDir } from "../data/make-data.js";

/** A .npy file byte by byte, as numpy lays it out, with the header given verbatim. */
function npyBytes(header: string, data: Uint8Array, version = 1): Uint8Array {
  const prefix = version === 1 ? 10 : 12;
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(prefix + h.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, h.length, true);
  else view.setUint32(8, h.length, true);
  out.set(h, prefix);
  out.set(data, prefix + h.length);
  return out;
}

describe("io/npy", () => {
  it("round-trips every supported dtype with its shape", () => {
    const arrays: NpyArray[] = [
      { dtype: "uint8", shape: [2, 3], data: Uint8Array.from([0, 1, 2, 253, 254, 255]) },
      { dtype: "int8", shape: [3], data: Int8Array.from([-128, 0, 127]) },
      { dtype: "int16", shape: [1, 2], data: Int16Array.from([-32768, 32767]) },
      { dtype: "uint16", shape: [2], data: Uint16Array.from([0, 65535]) },
      { dtype: "int32", shape: [2, 1, 1], data: Int32Array.from([-(2 ** 31), 2 ** 31 - 1]) },
      { dtype: "uint32", shape: [1], data: Uint32Array.from([2 ** 32 - 1]) },
      { dtype: "int64", shape: [2], data: BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n]) },
      { dtype: "uint64", shape: [1], data: BigUint64Array.from([2n ** 64n - 1n]) },
      { dtype: "float32", shape: [2, 2], data: Float32Array.from([0.1, -2.5, 1e-30, 3.4e38]) },
      { dtype: "float64", shape: [1], data: Float64Array.from([Math.PI]) },
      { dtype: "bool", shape: [2], data: Uint8Array.from([0, 1]) },
      { dtype: "float32", shape: [0, 4], data: new Float32Array(0) },
      { dtype: "float64", shape: [], data: Float64Array.from([7]) },
    ];
    for (const a of arrays) {
      const bytes = encodeNpy(a);
      expect((bytes.length - a.data.byteLength) % 64, a.dtype).to.equal(0); // header padded to 64 like numpy
      const back = decodeNpy(bytes);
      expect(back.dtype).to.equal(a.dtype);
      expect(back.shape).to.deep.equal(a.shape);
      expect(Array.from(back.data as ArrayLike<number | bigint>)).to.deep.equal(
        Array.from(a.data as ArrayLike<number | bigint>),
      );
    }
  });

  it("reads a numpy-style header verbatim, version 1 and 2", () => {
    const data = new Uint8Array(Float32Array.from([1, 2, 3, 4, 5, 6]).buffer);
    const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }".padEnd(117, " ") + "\n";
    for (const version of [1, 2]) {
      const a = decodeNpy(npyBytes(header, data, version));
      expect(a.shape).to.deep.equal([2, 3]);
      expect(Array.from(a.data as Float32Array)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    }
    const oneD = decodeNpy(
      npyBytes("{'descr': '|u1', 'fortran_order': True, 'shape': (3,), }\n", Uint8Array.from([7, 8, 9])),
    );
    expect(oneD.shape).to.deep.equal([3]);
  });

  it("writes atomically to a file and reads it back", () => {
    const t = tempDir("npy");
    try {
      const path = join(t.dir, "a.npy");
      writeNpy(path, { dtype: "int32", shape: [3], data: Int32Array.from([4, 5, 6]) });
      expect(Array.from(readNpy(path).data as Int32Array)).to.deep.equal([4, 5, 6]);
    } finally {
      t.remove();
    }
  });

  describe("bad files", () => {
    const bad = (bytes: Uint8Array, pattern: RegExp) =>
      expect(() => decodeNpy(bytes, "x.npy"))
        .to.throw(UserError, pattern)
        .with.property("message")
        .that.matches(/^x\.npy: /);
    const h = (descr: string, shape: string, fortran = "False") =>
      `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }\n`;

    it("names the file and the problem", () => {
      bad(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), /not a \.npy file/);
      bad(npyBytes(h(">f4", "(1,)"), new Uint8Array(4)), /unsupported dtype '>f4' \(big-endian/);
      bad(npyBytes(h("<c8", "(1,)"), new Uint8Array(8)), /unsupported dtype '<c8'/);
      bad(
        npyBytes(h("<f4", "(2, 3)"), new Uint8Array(20)),
        /truncated data: shape \[2,3\] needs 24 bytes, file has 20/,
      );
      bad(npyBytes(h("<f4", "(2, 3)", "True"), new Uint8Array(24)), /Fortran-order/);
      bad(npyBytes("{'descr': '<f4'}\n", new Uint8Array(4)), /malformed \.npy header/);
      bad(npyBytes(h("<f4", "(1,)"), new Uint8Array(4), 4), /unsupported \.npy format version 4/);
    });

    it("names a file that cannot be read", () => {
      expect(() => readNpy("/nonexistent/x.npy")).to.throw(UserError, /^\/nonexistent\/x\.npy: cannot read file/);
    });
  });
});
