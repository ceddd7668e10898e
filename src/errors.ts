/**
 * Errors a user can fix (bad file, bad option, unsupported model). The CLI prints `message` as one line
 * and exits with code 2; anything else is a bug and keeps its stack trace.
 */
export class UserError extends Error {
  override readonly name = "UserError";
  /** The file or thing the error is about, when there is one; already part of `message`. */
  readonly subject?: string;

  constructor(message: string, subject?: string) {
    super(subject ? `${subject}: ${message}` : message);
    this.subject = subject;
  }
}

export function isUserError(e: unknown): e is UserError {
  return e instanceof UserError;
}
