/**
 * The shape of a manifest, checked field by field before anything reads it: a manifest.json that another tool,
 * a person or a damaged disk changed must make its run "incomplete" (redone, or refused by name), never a
 * TypeError in a reader or a loop sized by a number in the file. Checks what the readers rely on (run.ts, score,
 * report, eval); numbers of records (losses, times) may be null, which is how JSON writes NaN.
 */
import { RUN_FORMAT } from "./manifest.js";

/** What is wrong with `v` (found at `at`, e.g. "manifest.run"), one line, or undefined. */
export type Check = (v: unknown, at: string) => string | undefined;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const show = (v: unknown) =>
  typeof v === "string" ? `'${v.slice(0, 40)}'` : Array.isArray(v) ? "an array" : String(v);
const expect = (ok: boolean, at: string, v: unknown, what: string) =>
  ok ? undefined : `${at} is ${show(v)}, expected ${what}`;

const string: Check = (v, at) => expect(typeof v === "string", at, v, "a string");
const boolean: Check = (v, at) => expect(typeof v === "boolean", at, v, "true or false");
const object: Check = (v, at) => expect(isObject(v), at, v, "an object");
export const count: Check = (v, at) =>
  expect(Number.isSafeInteger(v) && (v as number) >= 0, at, v, "a whole number >= 0");
const integer: Check = (v, at) => expect(Number.isSafeInteger(v), at, v, "a whole number");
export const number: Check = (v, at) => expect(typeof v === "number", at, v, "a number");
/** A measured number: JSON writes NaN and infinities as null. */
const measured: Check = (v, at) => expect(typeof v === "number" || v === null, at, v, "a number or null");
/** A file name inside the run folder: no separator, not "." or "..". */
const fileName: Check = (v, at) =>
  expect(
    typeof v === "string" && /^[^/\\\0]+$/.test(v) && v !== "." && v !== "..",
    at,
    v,
    "a file name in the run folder",
  );

/** JSON nested at most 64 deep (the readers hash and compare these with JSON.stringify, which overflows the stack
 * a few thousand levels down), walked without recursion. */
const MAX_DEPTH = 64;
const shallow =
  (check: Check): Check =>
  (v, at) => {
    const problem = check(v, at);
    if (problem) return problem;
    const todo: [unknown, number][] = [[v, 0]];
    while (todo.length) {
      const [x, depth] = todo.pop()!;
      if (typeof x !== "object" || x === null) continue;
      if (depth >= MAX_DEPTH) return `${at} is nested more than ${MAX_DEPTH} deep`;
      for (const child of Object.values(x)) todo.push([child, depth + 1]);
    }
    return undefined;
  };

const optional =
  (check: Check): Check =>
  (v, at) =>
    v === undefined ? undefined : check(v, at);

export const fields =
  (shape: Record<string, Check>): Check =>
  (v, at) => {
    if (!isObject(v)) return `${at} is ${show(v)}, expected an object`;
    for (const [key, check] of Object.entries(shape)) {
      const problem = check(v[key], `${at}.${key}`);
      if (problem) return problem;
    }
    return undefined;
  };

export const list =
  (check: Check): Check =>
  (v, at) => {
    if (!Array.isArray(v)) return `${at} is ${show(v)}, expected a list`;
    for (let i = 0; i < v.length; i++) {
      const problem = check(v[i], `${at}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  };

const valuesOf =
  (check: Check): Check =>
  (v, at) => {
    if (!isObject(v)) return `${at} is ${show(v)}, expected an object`;
    for (const [key, x] of Object.entries(v)) {
      const problem = check(x, `${at}.${key}`);
      if (problem) return problem;
    }
    return undefined;
  };

const run: Check = (v, at) =>
  fields({ index: count, of: count, seed: integer, forgetSeed: optional(integer) })(v, at) ??
  expect(
    (v as { index: number }).index < (v as { of: number }).of,
    `${at}.index`,
    (v as { index: number }).index,
    `less than run.of (${(v as { of: number }).of})`,
  );

const input: Check = (v, at) =>
  fields({ model: optional(string), sha256: optional(string), zoo: optional(string) })(v, at) ??
  expect(
    (v as { sha256?: string }).sha256 !== undefined || (v as { zoo?: string }).zoo !== undefined,
    at,
    "without sha256 or zoo",
    "the input model's sha256 or its zoo spec",
  );

const epoch = fields({
  phase: string,
  epoch: count,
  meanLoss: measured,
  seconds: measured,
  images: count,
  validation: optional(fields({ accuracy: measured, loss: measured })),
  skipped: optional(count),
});

const MANIFEST = fields({
  format: (v, at) => expect(v === RUN_FORMAT, at, v, `'${RUN_FORMAT}'`),
  kind: (v, at) => expect(v === "train" || v === "unlearn", at, v, "'train' or 'unlearn'"),
  method: string,
  run,
  input,
  output: fields({ model: fileName, sha256: string }),
  data: shallow(object),
  retain: fields({ count, idsSha256: string }),
  forget: optional(fields({ spec: string, count, idsSha256: string })),
  readsForget: boolean,
  config: shallow(object),
  reinitialised: optional(list(fields({ cycle: count, draws: list(string), layers: list(string) }))),
  epochs: list(epoch),
  seconds: valuesOf(measured),
  executionProvider: string,
  threads: optional(number),
  environment: fields({
    commit: optional(string),
    dirty: optional(boolean),
    host: optional(
      fields({ name: string, cpus: number, cpuModel: string, cpuId: optional(string), vectorIsa: optional(string) }),
    ),
  }),
  finished: string,
  resumed: optional(list(fields({ epoch: count, step: count, stepCount: count }))),
  notes: optional(list(string)),
});

/** Why `v` is not a complete manifest of this format (the first problem found, one line), or undefined. */
export function manifestProblem(v: unknown): string | undefined {
  return MANIFEST(v, "manifest");
}
