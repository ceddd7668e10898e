import { readFileSync } from "node:fs";
import { UserError } from "../errors.js";

/** Reads a whole input file; a missing or unreadable one is a UserError naming it: `cannot read <what> (ENOENT)`. */
export function readInputFile(path: string, what = "the file"): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UserError(`cannot read ${what} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, path);
  }
}
