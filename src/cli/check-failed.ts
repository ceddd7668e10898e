/**
 * A check the user asked for ran and did not pass (e.g. verify-torch outside its tolerance): the CLI prints
 * the message as one line and exits with code 1. Bad input stays a UserError (exit 2).
 */
export class CheckFailed extends Error {
  override readonly name = "CheckFailed";
}
