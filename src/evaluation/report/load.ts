/** Gathers report inputs from files. Today: ReportInput JSON files; run folders and eval outputs can be added here. */
import { readInputFile } from "../../io/read-input.js";
import { UserError } from "../../errors.js";
import { mergeReportInputs, type SourcedInput } from "./merge.js";
import type { ReportInput } from "./types.js";
import { validateReportInput } from "./validate.js";

/** Reads every path as a ReportInput JSON file, checks it, and merges them (mergeReportInputs' rules). */
export function loadReportInputs(paths: string[]): ReportInput {
  if (paths.length === 0) throw new UserError("give at least one report input (a ReportInput JSON file)");
  const inputs: SourcedInput[] = paths.map((path) => ({ input: readReportJson(path), source: path }));
  return mergeReportInputs(inputs);
}

function readReportJson(path: string): ReportInput {
  const text = readInputFile(path, "the report input").toString("utf8");
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new UserError(`not valid JSON (${(e as Error).message})`, path);
  }
  return validateReportInput(data, path);
}
