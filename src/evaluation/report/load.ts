/**
 * Gathers report inputs from paths: ReportInput JSON files, eval records (`eval --json` output or a run's
 * `eval/<key>.json`), and run folders or groups of runs (from-runs.ts: evaluated through their caches and,
 * with an unlearned and a retrained group, scored).
 */
import { statSync } from "node:fs";
import { readInputFile } from "../../io/read-input.js";
import { UserError } from "../../errors.js";
import { isEvalRecord } from "../eval-cache.js";
import { reportFromEvalRecord, reportFromRuns, type ReportFromRunsOptions } from "./from-runs.js";
import { mergeReportInputs, type SourcedInput } from "./merge.js";
import type { ReportInput } from "./types.js";
import { validateReportInput } from "./validate.js";

/** Reads every path as a ReportInput JSON file or an eval record, checks it, and merges them (mergeReportInputs' rules). */
export function loadReportInputs(paths: string[], onNote?: (note: string) => void): ReportInput {
  if (paths.length === 0) throw new UserError("give at least one report input (a ReportInput JSON file)");
  const inputs: SourcedInput[] = paths.map((path) => ({ input: readReportFile(path, onNote), source: path }));
  return mergeReportInputs(inputs);
}

/**
 * Every path a report input: folders are run folders or groups of runs (one model each, read together so that
 * they are checked against each other and scored), files are ReportInput JSON or eval records. Merged in the
 * order given, the run folders at the place of the first.
 */
export async function loadReport(paths: string[], o: ReportFromRunsOptions = {}): Promise<ReportInput> {
  if (paths.length === 0)
    throw new UserError("give at least one report input: run folders, eval records or ReportInput JSON files");
  const isDir = (p: string) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false;
    }
  };
  const dirs = paths.filter(isDir);
  const inputs: SourcedInput[] = [];
  for (const path of paths) {
    if (!isDir(path)) inputs.push({ input: readReportFile(path, o.onNote), source: path });
    else if (path === dirs[0]) inputs.push({ input: await reportFromRuns(dirs, o), source: dirs.join(", ") });
  }
  return mergeReportInputs(inputs);
}

function readReportFile(path: string, onNote?: (note: string) => void): ReportInput {
  const text = readInputFile(path, "the report input").toString("utf8");
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new UserError(`not valid JSON (${(e as Error).message})`, path);
  }
  if (isEvalRecord(data)) return reportFromEvalRecord(data, path, onNote);
  return validateReportInput(data, path);
}
