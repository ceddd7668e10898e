/**
 * The challenge score from precomputed confidences and accuracies: the core of `onnx-unlearn score`.
 * The input is the `--confs` file's object; a run-folder reader (`score --unlearned <dir> --retrained <dir>`)
 * only has to build the same object from the runs' forget-set confidences and accuracies.
 */
import { UserError } from "../../errors.js";
import { shortJson } from "../../short-json.js";
import { readInputFile } from "../../io/read-input.js";
import { finalScore, forgetScore, mean, type ForgetScore, type ForgetScoreOptions } from "./forget-score.js";

/** The `--confs` file: confidences [N][S] (model-major) and per-model accuracies [N] in percent. */
export interface ConfsInput {
  unlearned_confs: number[][];
  retrained_confs: number[][];
  unlearned_retain_acc: number[];
  unlearned_test_acc: number[];
  retrained_retain_acc: number[];
  retrained_test_acc: number[];
}

export interface ChallengeScore {
  forget: ForgetScore;
  /** F x (RA_U / RA_R) x (TA_U / TA_R). */
  finalScore: number;
  /** Mean accuracies (percent). */
  accuracy: { unlearnedRetain: number; unlearnedTest: number; retrainedRetain: number; retrainedTest: number };
}

const ACC_KEYS = ["unlearned_retain_acc", "unlearned_test_acc", "retrained_retain_acc", "retrained_test_acc"] as const;

/** Validates `input` (any parsed JSON) and scores it; problems are UserErrors naming the key and index. */
export function scoreConfs(input: unknown, o: Omit<ForgetScoreOptions, "names"> = {}): ChallengeScore {
  if (typeof input !== "object" || input === null || Array.isArray(input))
    throw new UserError(`expected an object with keys unlearned_confs, retrained_confs, ${ACC_KEYS.join(", ")}`);
  const x = input as Record<string, unknown>;
  const missing = ["unlearned_confs", "retrained_confs", ...ACC_KEYS].filter((k) => !(k in x));
  if (missing.length) throw new UserError(`missing key(s) ${missing.join(", ")}`);
  const forget = forgetScore(x.unlearned_confs as number[][], x.retrained_confs as number[][], {
    ...o,
    names: ["unlearned_confs", "retrained_confs"],
  });
  const acc = Object.fromEntries(ACC_KEYS.map((k) => [k, checkAccuracies(x[k], k, forget.N)])) as Record<
    (typeof ACC_KEYS)[number],
    number[]
  >;
  for (const k of ["retrained_retain_acc", "retrained_test_acc"] as const)
    if (mean(acc[k]) === 0) throw new UserError(`${k} averages 0; the final score divides by it`);
  return {
    forget,
    finalScore: finalScore(
      forget.F,
      acc.unlearned_retain_acc,
      acc.retrained_retain_acc,
      acc.unlearned_test_acc,
      acc.retrained_test_acc,
    ),
    accuracy: {
      unlearnedRetain: mean(acc.unlearned_retain_acc),
      unlearnedTest: mean(acc.unlearned_test_acc),
      retrainedRetain: mean(acc.retrained_retain_acc),
      retrainedTest: mean(acc.retrained_test_acc),
    },
  };
}

/** Reads and scores a `--confs` JSON file; every problem is a UserError naming the file (and key). */
export function scoreConfsFile(path: string, o: Omit<ForgetScoreOptions, "names"> = {}): ChallengeScore {
  const input = readConfsFile(path);
  try {
    return scoreConfs(input, o);
  } catch (e) {
    if (e instanceof UserError) throw new UserError(e.message, path);
    throw e;
  }
}

/**
 * Parses a `--confs` file. Python's json module writes non-finite floats as bare NaN / Infinity, which JSON.parse
 * rejects; they are read as the strings "NaN" / "Infinity" so that validation names the key and index.
 */
export function readConfsFile(path: string): unknown {
  const text = readInputFile(path, "the confidences file").toString("utf8");
  const quoted = text.replace(/"(?:[^"\\]|\\.)*"|-?\bInfinity\b|\bNaN\b/g, (m) => (m.startsWith('"') ? m : `"${m}"`));
  try {
    return JSON.parse(quoted);
  } catch (e) {
    throw new UserError(`not valid JSON (${(e as Error).message})`, path);
  }
}

function checkAccuracies(v: unknown, key: string, N: number): number[] {
  if (!Array.isArray(v)) throw new UserError(`${key} must be an array of ${N} per-model accuracies (percent)`);
  if (v.length !== N) throw new UserError(`${key} has ${v.length} values, expected one per model (${N})`);
  const bad = v.findIndex((a) => typeof a !== "number" || !Number.isFinite(a) || a < 0 || a > 100);
  if (bad >= 0) throw new UserError(`${key}[${bad}] is ${shortJson(v[bad])}, expected a percentage in [0, 100]`);
  return v as number[];
}
