/**
 * JSON-aware mutation of seed documents as a fast-check arbitrary: each input is a seed with 1-4 edits, each at a
 * path chosen by random indices (a key of an object, an element of a list): the value replaced (by random JSON or
 * a hostile value: wrong types, huge or fractional numbers, prototype names, paths, deep nesting, long lists), the
 * key removed, or a key added. Byte mutation (mutate.ts) mostly breaks the syntax; this reaches the validation.
 */
import fc from "fast-check";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Stands for a value nested 20,000 deep, spliced into the text (JSON.stringify itself overflows the stack on it). */
const DEEP = "\u0000deep\u0000";
const DEEP_TEXT = '{"a":['.repeat(10_000) + "1" + "]}".repeat(10_000);

/** Values that readers get wrong: every JSON type where another is expected, edge numbers, names, sizes. */
export const HOSTILE: Json[] = [
  null,
  true,
  false,
  0,
  -1,
  1,
  2,
  0.5,
  1.5,
  -0,
  1e21,
  1e308,
  -1e308,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  Number.MAX_SAFE_INTEGER,
  "",
  "x",
  "0",
  "1e3",
  "NaN",
  "Infinity",
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "../model.onnx",
  "../../etc/passwd",
  "/etc/passwd",
  "sub/model.onnx",
  "a\nb\u0000c",
  "\u2028",
  [],
  {},
  [null],
  [1, 2, 3],
  ["a", 1, null],
  { __proto__: null, x: 1 } as unknown as Json,
  JSON.parse('{"__proto__": {"polluted": 1}}') as Json,
  Array<Json>(10_000).fill(1),
  Array<Json>(2_000).fill("abcdefgh"),
  DEEP,
];

const value: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> },
);

type Edit = { path: number[]; action: "replace" | "remove" | "add"; key: string; value: Json };

const edit: fc.Arbitrary<Edit> = fc.record({
  path: fc.oneof(fc.array(fc.nat(), { maxLength: 2 }), fc.array(fc.nat(), { maxLength: 5 })),
  action: fc.constantFrom("replace" as const, "replace" as const, "remove" as const, "add" as const),
  key: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("__proto__", "constructor", "total", "index", "of")),
  value,
});

/** Applies an edit in place: walks `path` (index modulo the keys or elements) and edits where it stops. */
function apply(doc: Json, edit: Edit): Json {
  const e = { ...edit, value: structuredClone(edit.value) }; // the HOSTILE values are shared: never edit them
  if (e.path.length === 0 && e.action === "replace") return e.value;
  let parent: Json = doc;
  for (let depth = 0; depth < e.path.length; depth++) {
    const children: [string | number, Json][] = Array.isArray(parent)
      ? parent.map((v, i) => [i, v])
      : parent && typeof parent === "object"
        ? Object.entries(parent)
        : [];
    if (children.length === 0) break;
    const [key, child] = children[e.path[depth]! % children.length]!;
    const last = depth === e.path.length - 1 || !child || typeof child !== "object";
    if (last) {
      const holder = parent as Record<string | number, Json>;
      if (e.action === "replace") holder[key] = e.value;
      else if (e.action === "remove") {
        if (Array.isArray(holder)) holder.splice(key as number, 1);
        else delete holder[key];
      } else if (Array.isArray(holder)) holder.push(e.value);
      else
        Object.defineProperty(holder, e.key, { value: e.value, enumerable: true, writable: true, configurable: true });
      return doc;
    }
    parent = child;
  }
  return doc;
}

/**
 * Seeds with JSON edits, as UTF-8 JSON text. `bareNonFinite`: write some numbers as Python's json module does
 * (bare NaN, Infinity, -Infinity), for readers that accept them.
 */
export function jsonMutated(seeds: unknown[], o: { bareNonFinite?: boolean } = {}): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.nat(seeds.length - 1), fc.array(edit, { minLength: 1, maxLength: 4 }), fc.nat())
    .map(([s, edits, salt]) => {
      let doc = structuredClone(seeds[s]) as Json;
      for (const e of edits) doc = apply(doc, e);
      let text = (JSON.stringify(doc) ?? "null").replaceAll(JSON.stringify(DEEP), DEEP_TEXT);
      if (o.bareNonFinite && salt % 3 === 0) {
        const token = ["NaN", "Infinity", "-Infinity"][salt % 9 === 0 ? 0 : salt % 9 === 3 ? 1 : 2]!;
        text = text.replace(/-?\d+(\.\d+)?(e[+-]?\d+)?/, token);
      }
      return new TextEncoder().encode(text);
    });
}
