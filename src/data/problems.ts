import { UserError } from "../errors.js";

/** Throws one UserError listing every problem (the first `shown` of them, then how many more). */
export function throwProblems(subject: string, what: string, problems: string[], shown = 10): void {
  if (problems.length === 0) return;
  const more = problems.length > shown ? `; and ${problems.length - shown} more` : "";
  throw new UserError(`${what}: ${problems.slice(0, shown).join("; ")}${more}`, subject);
}
