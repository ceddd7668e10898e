/** Checks data read from a file against ReportInput, listing every problem at once with its key path. */
import { UserError } from "../../errors.js";
import { shortJson } from "../../short-json.js";
import { FACT_LABELS, MODEL_ROLES, SPLITS, type ReportInput, type ReportModel } from "./types.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** Returns `data` as a ReportInput, or throws one UserError naming `source` and every bad key. */
export function validateReportInput(data: unknown, source: string): ReportInput {
  const problems: string[] = [];
  const bad = (key: string, expected: string) => problems.push(`${key}: expected ${expected}`);
  if (!isObj(data)) throw new UserError("expected a JSON object with title and models", source);

  if (typeof data.title !== "string" || data.title === "") bad("title", "a non-empty string");
  if (data.logitsLabel !== undefined && typeof data.logitsLabel !== "string") bad("logitsLabel", "a string");
  if (!Array.isArray(data.models)) bad("models", "an array");
  else data.models.forEach((m, i) => checkModel(m, `models[${i}]`, bad));
  if (data.score !== undefined) checkScore(data.score, bad);
  if (data.facts !== undefined) {
    if (!isObj(data.facts)) bad("facts", "an object");
    else
      for (const [k, v] of Object.entries(data.facts)) {
        if (!(k in FACT_LABELS)) bad(`facts.${k}`, `one of the keys ${Object.keys(FACT_LABELS).join(", ")}`);
        else if (typeof v !== "string") bad(`facts.${k}`, "a string");
      }
  }
  if (problems.length) throw new UserError(problems.join("; "), source);
  return data as unknown as ReportInput;
}

function checkModel(m: unknown, key: string, bad: (key: string, expected: string) => void): void {
  if (!isObj(m)) return bad(key, "an object");
  if (typeof m.name !== "string" || m.name === "") bad(`${key}.name`, "a non-empty string");
  if (!MODEL_ROLES.includes(m.role as ReportModel["role"])) bad(`${key}.role`, `one of ${MODEL_ROLES.join(", ")}`);
  if (!Number.isInteger(m.runs) || (m.runs as number) < 1) bad(`${key}.runs`, "an integer >= 1");
  if (m.logits !== undefined) {
    if (!isObj(m.logits)) bad(`${key}.logits`, "an object with forget and retain arrays");
    else
      for (const set of ["forget", "retain"] as const) {
        const a = m.logits[set];
        if (!Array.isArray(a)) bad(`${key}.logits.${set}`, "an array of numbers");
        else {
          const i = a.findIndex((x) => !isNum(x));
          if (i >= 0) bad(`${key}.logits.${set}[${i}]`, `a finite number, got ${shortJson(a[i])}`);
        }
      }
  }
  if (!isObj(m.accuracy)) bad(`${key}.accuracy`, `an object with percentages for ${SPLITS.join(", ")}`);
  else
    for (const [k, v] of Object.entries(m.accuracy)) {
      if (!SPLITS.includes(k as (typeof SPLITS)[number])) bad(`${key}.accuracy.${k}`, `one of ${SPLITS.join(", ")}`);
      else if (!isNum(v) || v < 0 || v > 100) bad(`${key}.accuracy.${k}`, "a percentage in [0, 100]");
    }
  if (m.mia !== undefined && (!isNum(m.mia) || m.mia < 0 || m.mia > 1)) bad(`${key}.mia`, "an accuracy in [0, 1]");
  if (m.secondsPerRun !== undefined && (!isNum(m.secondsPerRun) || m.secondsPerRun < 0))
    bad(`${key}.secondsPerRun`, "a number of seconds >= 0");
}

function checkScore(s: unknown, bad: (key: string, expected: string) => void): void {
  if (!isObj(s)) return bad("score", "an object");
  if (s.model !== undefined && typeof s.model !== "string") bad("score.model", "a model name");
  for (const k of ["forgetScore", "forgetScoreLow", "forgetScoreHigh", "finalScore"] as const)
    if (!isNum(s[k]) || (s[k] as number) < 0) bad(`score.${k}`, "a number >= 0");
  if (isNum(s.forgetScoreLow) && isNum(s.forgetScoreHigh) && isNum(s.forgetScore))
    if (!(s.forgetScoreLow <= s.forgetScore && s.forgetScore <= s.forgetScoreHigh))
      bad("score.forgetScoreLow/High", "an interval around forgetScore");
  if (!Number.isInteger(s.n) || (s.n as number) < 2) bad("score.n", "an integer >= 2 (runs per model)");
  if (!Number.isInteger(s.s) || (s.s as number) < 1) bad("score.s", "an integer >= 1 (forget examples)");
  if (!Array.isArray(s.epsilons)) bad("score.epsilons", "an array of numbers");
  else {
    if (Number.isInteger(s.s) && s.epsilons.length !== s.s)
      bad("score.epsilons", `${String(s.s)} values (score.s), got ${s.epsilons.length}`);
    const i = s.epsilons.findIndex((e) => !isNum(e) || e < 0 || e > 50);
    if (i >= 0) bad(`score.epsilons[${i}]`, `a number in [0, 50], got ${shortJson(s.epsilons[i])}`);
  }
}
