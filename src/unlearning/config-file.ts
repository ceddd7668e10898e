/**
 * `unlearn --config run.json`: a JSON object of config keys (config.ts), validated with the flags by
 * resolveUnlearnConfig. Every problem is one line naming the file.
 */
import { UserError } from "../errors.js";
import { readInputFile } from "../io/read-input.js";
import { checkConfigKeys, type UnlearnConfigInput } from "./config.js";

/** Reads a --config file: a JSON object whose keys are all config keys. */
export function readUnlearnConfigFile(path: string): UnlearnConfigInput {
  return parseUnlearnConfigJson(readInputFile(path, "a JSON config").toString("utf8"), path);
}

/** The text of a --config file (`source` names it in messages). */
export function parseUnlearnConfigJson(text: string, source: string): UnlearnConfigInput {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UserError(`cannot read a JSON config (${(e as Error).message})`, source);
  }
  if (!value || typeof value !== "object" || Array.isArray(value))
    throw new UserError("expected a JSON object of options", source);
  checkConfigKeys(value, source);
  return value as UnlearnConfigInput;
}
