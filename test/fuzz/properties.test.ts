/**
 * Sizes claimed by a file are checked against the file before anything is allocated from them: properties over
 * generated headers that claim huge sizes, and a bound on what a pickle can build per input byte.
 */
import { expect } from "chai";
import fc from "fast-check";
import { UserError } from "../../src/errors.js";
import { decodeNpy } from "../../src/io/npy.js";
import { readSafetensors } from "../../src/io/safetensors.js";
import { unpickle } from "../../src/io/torch/pickle.js";
import { loadModel, readInitializers } from "../../src/onnx/model-io.js";
import { encodeModel, newGraph, newModel, newOpset, newTensor } from "../../src/onnx/proto.js";

const enc = new TextEncoder();

/** Runs fn; it must throw a one-line UserError within `ms` and grow array buffers by less than 64 MiB. */
function refusedCheaply(fn: () => unknown, ms = 500): boolean {
  const before = process.memoryUsage().arrayBuffers;
  const t0 = performance.now();
  try {
    fn();
    return false;
  } catch (e) {
    const grew = process.memoryUsage().arrayBuffers - before;
    return e instanceof UserError && !e.message.includes("\n") && performance.now() - t0 < ms && grew < 2 ** 26;
  }
}

const huge = fc.oneof(
  fc.constantFrom(2 ** 31, 2 ** 32, 1e9, 2 ** 53 - 1, 2 ** 40),
  fc.integer({ min: 2 ** 30, max: 2 ** 52 }),
);

describe("fuzz properties: claimed sizes are checked before allocation", () => {
  it("safetensors: a header length, shape or data_offsets claiming up to 2^60 bytes", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(2n ** 60n, 2n ** 32n, 2n ** 63n),
        huge,
        huge,
        fc.nat(64),
        (headerLen, dim, end, pad) => {
          const json = enc.encode(JSON.stringify({ t: { dtype: "F32", shape: [dim, dim], data_offsets: [0, end] } }));
          const withLen = (n: bigint) => {
            const b = new Uint8Array(8 + json.length + pad);
            new DataView(b.buffer).setBigUint64(0, n, true);
            b.set(json, 8);
            return b;
          };
          return (
            refusedCheaply(() => readSafetensors(withLen(headerLen))) &&
            refusedCheaply(() => readSafetensors(withLen(BigInt(json.length))))
          );
        },
      ),
      { numRuns: 200, seed: 1 },
    );
  });

  it("ONNX: dims of 1e9 and more on raw, typed and empty tensors", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(huge.map(BigInt), fc.constantFrom(1_000_000_000n, 2n ** 62n)), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.constantFrom("raw", "typed", "none"),
        fc.constantFrom(1, 7, 10, 11),
        (dims, form, dataType) => {
          const t = newTensor({ name: "t", dataType, dims });
          if (form === "raw") t.rawData = new Uint8Array(16);
          if (form === "typed") t.floatData = [1, 2];
          const bytes = encodeModel(
            newModel({ irVersion: 8n, opsetImport: [newOpset("", 17)], graph: newGraph({ initializer: [t] }) }),
          );
          return refusedCheaply(() => readInitializers(loadModel(bytes, { name: "dims.onnx" })));
        },
      ),
      { numRuns: 300, seed: 2 },
    );
  });

  it("NPY: shapes whose product overflows or exceeds the data", () => {
    fc.assert(
      fc.property(
        fc.array(huge, { minLength: 1, maxLength: 4 }),
        fc.constantFrom("<f4", "|u1", "<i8"),
        (shape, descr) => {
          const dict = enc.encode(`{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(", ")},), }\n`);
          const b = Uint8Array.from([
            0x93,
            ...enc.encode("NUMPY"),
            1,
            0,
            dict.length & 0xff,
            dict.length >> 8,
            ...dict,
            1,
            2,
          ]);
          return refusedCheaply(() => decodeNpy(b, "x.npy"));
        },
      ),
      { numRuns: 300, seed: 3 },
    );
  });

  it("pickle: containers hold at most about one element per input byte, however they are built", () => {
    const op = fc.constantFrom(0x5d, 0x28, 0x4e, 0x32, 0x61, 0x65, 0x94, 0x74, 0x85, 0x7d, 0x73, 0x75, 0x30, 0x31);
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), fc.nat(20), (ops, memoGets) => {
        // plus BINGET of memo 0 repeated: references, each costing two bytes
        const bytes = Uint8Array.from([
          0x80,
          2,
          0x5d,
          0x94,
          ...ops,
          ...new Array<number>(memoGets).fill(0).flatMap(() => [0x68, 0]),
          0x2e,
        ]);
        let value: unknown;
        try {
          value = unpickle(bytes, { file: "p.pkl", globals: new Map() }).value;
        } catch (e) {
          return e instanceof UserError && !e.message.includes("\n");
        }
        let elements = 0;
        const seen = new Set<unknown>();
        const todo = [value];
        while (todo.length) {
          const v = todo.pop();
          if (typeof v !== "object" || v === null || seen.has(v)) continue;
          seen.add(v);
          const items =
            v instanceof Map ? [...v.entries()].flat() : v instanceof Set ? [...v] : Array.isArray(v) ? v : [];
          elements += items.length;
          todo.push(...items);
        }
        return elements <= bytes.length;
      }),
      { numRuns: 500, seed: 4 },
    );
  });

  it("refusedCheaply itself fails on a parse that succeeds or throws something else", () => {
    expect(refusedCheaply(() => 1)).to.equal(false);
    expect(refusedCheaply(() => JSON.parse("{"))).to.equal(false);
  });
});

describe("UserError messages are one line whatever names they carry", () => {
  it("control characters and line breaks are escaped", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 40 }),
        fc.string({ unit: "binary", maxLength: 20 }),
        (m, s) => {
          const e = new UserError(m, s);
          return [...e.message].every((c) => c.charCodeAt(0) >= 0x20 && c !== "\u2028" && c !== "\u2029");
        },
      ),
      { numRuns: 500, seed: 5 },
    );
    expect(new UserError("holds 0 values", "initializer 'a\nb\u0000'").message).to.equal(
      "initializer 'a\\nb\\x00': holds 0 values",
    );
  });
});
