/**
 * Forget sets: which training examples must lose their influence. Given as an id list file, whole classes, or a
 * seeded random fraction/count (optionally stratified by class). retain = train minus forget.
 */
import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "../io/atomic-write.js";
import { UserError } from "../errors.js";
import { throwProblems } from "./problems.js";
import { otherPositions } from "./splits.js";
import { classCounts, positionsByClass, proportionalCounts, rngFor, shuffleInPlace, type Seed } from "./random.js";
import type { Dataset, Examples } from "./types.js";

export type ForgetSpec =
  | { kind: "ids"; ids: number[]; file?: string }
  | { kind: "classes"; classes: (number | string)[] }
  | { kind: "random"; fraction?: number; count?: number; stratified?: boolean };

export interface ForgetSet {
  /** The spec as text (for logs and the audit file). */
  description: string;
  /** ids of the forget examples, ascending. */
  ids: Int32Array;
  /** Positions of the forget examples in the dataset's train split, ascending. */
  positions: Int32Array;
}

export const FORGET_SPEC_FORMS = [
  'ids:<file> (JSON array, {"ids": [...]}, or one id per line)',
  "classes:<c>[,<c>...] (class numbers or names)",
  "random:<fraction in (0,1) | count>",
  "stratified:<fraction | count> (random, same share of every class)",
];

/** Parses a forget spec string; a bare path of an existing file is read as an id list. */
export function parseForgetSpec(text: string): ForgetSpec {
  const colon = text.indexOf(":");
  const kind = colon < 0 ? "" : text.slice(0, colon);
  const arg = text.slice(colon + 1);
  if (kind === "ids" || (colon < 0 && existsSync(text))) {
    const file = kind === "ids" ? arg : text;
    return { kind: "ids", ids: readIdList(file), file };
  }
  if (kind === "classes") {
    const classes = arg
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
    if (classes.length === 0) throw new UserError("expected classes:<c>[,<c>...]", text);
    return { kind: "classes", classes };
  }
  if (kind === "random" || kind === "stratified") {
    const v = Number(arg);
    const isCount = /^\d+$/.test(arg);
    if (!(isCount ? v >= 1 : v > 0 && v < 1))
      throw new UserError("expected a fraction in (0, 1) or a count >= 1", text);
    return { kind: "random", stratified: kind === "stratified", ...(isCount ? { count: v } : { fraction: v }) };
  }
  throw new UserError(`unknown forget spec; expected ${FORGET_SPEC_FORMS.join(", or ")}`, text);
}

/** Reads an id list: a JSON array, a JSON object with an "ids" array (as written by writeForgetList), or lines. */
export function readIdList(file: string): number[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new UserError(
      `cannot read forget id list (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      file,
    );
  }
  return parseIdList(text, file);
}

/** The ids of an id list's text (see readIdList); `file` names it in errors. */
export function parseIdList(text: string, file: string): number[] {
  let values: unknown[];
  const trimmed = text.trim();
  if (trimmed.startsWith("[") || trimmed.startsWith("{")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (e) {
      throw new UserError(`not valid JSON (${(e as Error).message.split("\n")[0]})`, file);
    }
    const list = Array.isArray(parsed) ? parsed : (parsed as { ids?: unknown } | null)?.ids;
    if (!Array.isArray(list))
      throw new UserError('expected a JSON array of ids or an object with an "ids" array', file);
    values = list;
  } else {
    values = trimmed
      .split(/\r?\n/)
      .map((l) => l.replace(/#.*/, "").trim())
      .filter(Boolean)
      .map((l) => (/^-?\d+$/.test(l) ? Number(l) : l));
  }
  const bad: string[] = [];
  values.forEach((v, i) => {
    if (!Number.isSafeInteger(v)) bad.push(`entry ${i + 1} is ${describeValue(v)}`);
  });
  throwProblems(file, "forget ids must be integers", bad);
  return values as number[];
}

/** A value for a message: short, on one line. */
function describeValue(v: unknown): string {
  const text = typeof v === "string" ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

export interface SelectForgetOptions {
  /** Run seed for random forget sets (default 0). */
  seed?: Seed;
}

/** Chooses the forget set among the dataset's training examples. */
export function selectForget(dataset: Dataset, spec: ForgetSpec, options: SelectForgetOptions = {}): ForgetSet {
  const { train } = dataset;
  let positions: number[];
  let description: string;
  if (spec.kind === "ids") {
    positions = idPositions(dataset, spec.ids, spec.file ?? "forget ids");
    description = `ids:${spec.file ?? `${spec.ids.length} ids`}`;
  } else if (spec.kind === "classes") {
    const classes = spec.classes.map((c) => classIndex(dataset, c));
    const wanted = new Set(classes);
    positions = [];
    train.labels.forEach((c, p) => {
      if (wanted.has(c)) positions.push(p);
    });
    description = `classes:${classes.join(",")}`;
  } else {
    const seed = options.seed ?? 0;
    const count = spec.count ?? Math.round((spec.fraction ?? 0) * train.count);
    if (count > train.count)
      throw new UserError(`forget count ${count} exceeds the ${train.count} training examples`, dataset.spec);
    const rng = rngFor(seed, "forget", spec.stratified ? "stratified" : "random");
    if (spec.stratified) {
      const take = proportionalCounts(classCounts(train.labels, train.numClasses), count);
      positions = positionsByClass(train.labels, train.numClasses).flatMap((list, c) =>
        Array.from(shuffleInPlace(list, rng).slice(0, take[c])),
      );
    } else {
      positions = Array.from(
        shuffleInPlace(
          Int32Array.from({ length: train.count }, (_, i) => i),
          rng,
        ).subarray(0, count),
      );
    }
    description = `${spec.stratified ? "stratified" : "random"}:${spec.count ?? spec.fraction} (seed ${seed})`;
  }
  const sorted = Int32Array.from(positions).sort();
  if (sorted.length === 0) throw new UserError(`forget set ${description} is empty`, dataset.spec);
  if (sorted.length === train.count)
    throw new UserError(
      `forget set ${description} takes every training example: the retain set would be empty`,
      dataset.spec,
    );
  const ids = Int32Array.from(sorted, (p) => train.ids[p]).sort();
  return { description, ids, positions: sorted };
}

function idPositions(dataset: Dataset, ids: number[], subject: string): number[] {
  const trainPos = new Map<number, number>();
  dataset.train.ids.forEach((id, p) => trainPos.set(id, p));
  const where = new Map<number, string>();
  dataset.validation.ids.forEach((id) => where.set(id, "validation"));
  dataset.test.ids.forEach((id) => where.set(id, "test"));
  const seen = new Set<number>();
  const problems: string[] = [];
  const positions: number[] = [];
  let range: string | undefined;
  for (const id of ids) {
    if (seen.has(id)) {
      problems.push(`id ${id} is listed more than once`);
      continue;
    }
    seen.add(id);
    const p = trainPos.get(id);
    if (p !== undefined) positions.push(p);
    else if (where.has(id)) problems.push(`id ${id} is in the ${where.get(id)} split, not train`);
    else problems.push(`id ${id} is not an example of ${dataset.spec} (${(range ??= idRange(dataset.all))})`);
  }
  throwProblems(subject, "bad forget ids", problems);
  return positions;
}

function idRange(all: Examples): string {
  let min = Infinity,
    max = -Infinity;
  for (const id of all.ids) {
    if (id < min) min = id;
    if (id > max) max = id;
  }
  return `ids run ${min}..${max}${max - min + 1 > all.count ? ", with gaps" : ""}`;
}

function classIndex(dataset: Dataset, c: number | string): number {
  const index = typeof c === "number" ? c : dataset.classNames.indexOf(c);
  if (!(Number.isInteger(index) && index >= 0 && index < dataset.numClasses)) {
    throw new UserError(
      `no class ${JSON.stringify(c)}; classes are 0..${dataset.numClasses - 1} (${dataset.classNames.join(", ")})`,
      dataset.spec,
    );
  }
  return index;
}

/** The train split cut in two: forget and retain views (retain keeps train order). */
export function splitTrain(dataset: Dataset, forget: ForgetSet): { forget: Examples; retain: Examples } {
  const retain = otherPositions(forget.positions, dataset.train.count);
  return { forget: dataset.train.select(forget.positions), retain: dataset.train.select(retain) };
}

/**
 * The retain set as a detached collection, for forget-free methods: it holds copies of the retain examples only
 * and no reference to the dataset, so no call on it can read a forget example.
 */
export function retainOnlyView(dataset: Dataset, forget: ForgetSet): Examples {
  return splitTrain(dataset, forget).retain.detach();
}

/** Writes the forget set for audit and reuse (`ids:<file>` reads it back). */
export function writeForgetList(path: string, dataset: Dataset, forget: ForgetSet): void {
  const body = {
    source: dataset.spec,
    forget: forget.description,
    count: forget.ids.length,
    ids: Array.from(forget.ids),
  };
  writeFileAtomic(path, new TextEncoder().encode(`${JSON.stringify(body)}\n`));
}
