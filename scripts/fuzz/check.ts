/**
 * The invariant every fuzz input is held to: the target parses it, or throws UserError with one non-empty line
 * (a target that returns "absent" for bad input must not throw at all); the call takes at most `msBase` +
 * `msPerKiB` per KiB of input; what it returns holds at most OUTPUT_RATIO bytes per input byte (plus 1 MiB), so
 * no size field can make it allocate more than the file backs. Anything else is a finding.
 */
import { UserError } from "../../src/errors.js";
import type { Target } from "./targets.js";

/** DEFLATE's best ratio is 1032:1; nothing else we read may expand its input more than that. */
export const OUTPUT_RATIO = 1100;

export interface Limits {
  msBase: number;
  msPerKiB: number;
}
export const DEFAULT_LIMITS: Limits = { msBase: 2000, msPerKiB: 50 };

export type Verdict = "parsed" | "refused" | "finding";

export interface Outcome {
  verdict: Verdict;
  ms: number;
  /** For a finding: what was wrong, on one line. */
  why?: string;
}

export async function checkInput(target: Target, bytes: Uint8Array, limits = DEFAULT_LIMITS): Promise<Outcome> {
  const t0 = performance.now();
  let verdict: Verdict;
  let why: string | undefined;
  try {
    const value = await target.run(bytes);
    verdict = "parsed";
    const size = typedBytes(value);
    if (size > OUTPUT_RATIO * bytes.length + 2 ** 20) {
      verdict = "finding";
      why = `output of ${size} bytes from ${bytes.length} input bytes`;
    }
  } catch (e) {
    if (target.neverThrows) {
      verdict = "finding";
      why = `threw ${describe(e)}`;
    } else if (e instanceof UserError && e.message.length > 0 && !e.message.includes("\n")) {
      verdict = "refused";
    } else {
      verdict = "finding";
      why = e instanceof UserError ? `UserError of ${e.message.split("\n").length} lines` : describe(e);
    }
  }
  const ms = performance.now() - t0;
  const limit = limits.msBase + (limits.msPerKiB * bytes.length) / 1024;
  if (verdict !== "finding" && ms > limit) {
    verdict = "finding";
    why = `took ${ms.toFixed(0)} ms for ${bytes.length} bytes (limit ${limit.toFixed(0)} ms)`;
  }
  return { verdict, ms, why };
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message.split("\n")[0]}`;
  return `non-error ${String(e)}`;
}

/** Bytes of the typed arrays reachable from `value` (each buffer counted once), walked without recursion. */
export function typedBytes(value: unknown): number {
  const seen = new Set<unknown>();
  const todo = [value];
  let total = 0;
  let visited = 0;
  while (todo.length && visited++ < 1_000_000) {
    const v = todo.pop();
    if (typeof v !== "object" || v === null || seen.has(v)) continue;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      if (!seen.has(v.buffer)) {
        seen.add(v.buffer);
        total += v.byteLength;
      }
    } else if (v instanceof Map) {
      for (const [k, x] of v) todo.push(k, x);
    } else if (v instanceof Set || Array.isArray(v)) {
      for (const x of v) todo.push(x);
    } else {
      for (const x of Object.values(v)) todo.push(x);
    }
  }
  return total;
}
