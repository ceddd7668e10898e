/**
 * Byte-level mutation of seed files as a fast-check arbitrary: flips, interesting integers written over a field
 * (0, -1, 2^31, 2^53, 2^60, ...), inserted, deleted and duplicated runs, truncation. Positions are taken modulo
 * the current length, so every edit applies to every seed.
 */
import fc from "fast-check";

type Edit =
  | { kind: "byte"; pos: number; value: number }
  | { kind: "int"; pos: number; width: 1 | 2 | 4 | 8; value: bigint; bigEndian: boolean }
  | { kind: "insert"; pos: number; bytes: Uint8Array }
  | { kind: "delete"; pos: number; len: number }
  | { kind: "copy"; from: number; to: number; len: number }
  | { kind: "truncate"; pos: number };

const INTERESTING = [
  0n,
  1n,
  2n,
  0x7fn,
  0x80n,
  0xffn,
  0x100n,
  0x7fffn,
  0xffffn,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  2n ** 53n,
  2n ** 60n,
  2n ** 63n - 1n,
  2n ** 64n - 1n,
];

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant("byte" as const), pos: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    kind: fc.constant("int" as const),
    pos: fc.nat(),
    width: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const),
    value: fc.oneof(fc.constantFrom(...INTERESTING), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
    bigEndian: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("insert" as const), pos: fc.nat(), bytes: fc.uint8Array({ maxLength: 32 }) }),
  fc.record({ kind: fc.constant("delete" as const), pos: fc.nat(), len: fc.integer({ min: 1, max: 256 }) }),
  fc.record({
    kind: fc.constant("copy" as const),
    from: fc.nat(),
    to: fc.nat(),
    len: fc.integer({ min: 1, max: 512 }),
  }),
  fc.record({ kind: fc.constant("truncate" as const), pos: fc.nat() }),
);

function apply(seed: Uint8Array, edits: Edit[]): Uint8Array {
  let b: Uint8Array = Uint8Array.from(seed);
  for (const e of edits) {
    const at = (p: number) => (b.length === 0 ? 0 : p % (b.length + 1));
    switch (e.kind) {
      case "byte":
        if (b.length) b[e.pos % b.length] = e.value;
        break;
      case "int": {
        const p = at(e.pos);
        for (let i = 0; i < e.width && p + i < b.length; i++) {
          const shift = BigInt(8 * (e.bigEndian ? e.width - 1 - i : i));
          b[p + i] = Number((e.value >> shift) & 0xffn);
        }
        break;
      }
      case "insert": {
        const p = at(e.pos);
        b = concat(b.subarray(0, p), e.bytes, b.subarray(p));
        break;
      }
      case "delete": {
        const p = at(e.pos);
        b = concat(b.subarray(0, p), b.subarray(Math.min(b.length, p + e.len)));
        break;
      }
      case "copy": {
        const from = at(e.from);
        const chunk = b.slice(from, from + e.len);
        const to = at(e.to);
        b = concat(b.subarray(0, to), chunk, b.subarray(to));
        break;
      }
      case "truncate":
        b = b.slice(0, at(e.pos));
        break;
    }
  }
  return b;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Seeds with 0 to `maxEdits` edits each (a share of unmutated seeds keeps the valid paths covered). */
export function mutated(seeds: Uint8Array[], maxEdits = 6): fc.Arbitrary<Uint8Array> {
  if (seeds.length === 0) throw new Error("mutated: no seeds");
  return fc
    .tuple(fc.nat(seeds.length - 1), fc.array(edit, { maxLength: maxEdits }))
    .map(([i, edits]) => apply(seeds[i]!, edits));
}
