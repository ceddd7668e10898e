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
