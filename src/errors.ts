/**
 * Errors a user can fix (bad file, bad option, unsupported model). The CLI prints `message` as one line
 * and exits with code 2; anything else is a bug and keeps its stack trace.
 */
export class UserError extends Error {
  override readonly name = "UserError";
  /** The file or thing the error is about, when there is one; already part of `message`. */
  readonly subject?: string;

  constructor(message: string, subject?: string) {
    super(oneLine(subject ? `${subject}: ${message}` : message));
    this.subject = subject;
  }
}

/**
 * The text with line breaks and other control characters written as escapes (`\n`, `\x00`), so that a message
 * carrying names from a hostile file (a tensor named "a\nb", a zip entry, a parser's quote of the bytes) stays one
 * line.
 */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    const code = c.charCodeAt(0);
    return code > 0xff ? `\\u${code.toString(16).padStart(4, "0")}` : `\\x${code.toString(16).padStart(2, "0")}`;
  });
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}

/**
 * The work was stopped from outside (Ctrl-C, SIGTERM, an AbortSignal) between two steps, after a checkpoint was
 * written where there is one. The CLI prints the message as one line and exits 128 + the signal's number
 * (130 for SIGINT, 143 for SIGTERM).
 */
export class Interrupted extends Error {
  override readonly name = "Interrupted";

  constructor(
    /** What stopped it: the signal's name ("SIGINT", "SIGTERM") or the abort reason's text. */
    readonly reason: string,
    message: string,
    /** The checkpoint a rerun continues from, when one was written. */
    readonly checkpoint?: string,
  ) {
    super(oneLine(message));
  }
}

/** The reason of an aborted signal as text: a signal name given to abort(), or the reason's message. */
export function abortReason(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  if (typeof r === "string") return r;
  if (r instanceof Error) return r.message;
  return "aborted";
}
