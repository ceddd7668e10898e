import { expect } from "chai";
import { UserError } from "../../src/errors.js";

/** Awaits `p`, which must reject with a UserError whose message equals (string) or matches (RegExp) `message`. */
export async function expectRefusal(p: Promise<unknown>, message: string | RegExp): Promise<string> {
  let error: unknown;
  try {
    await p;
  } catch (e) {
    error = e;
  }
  expect(error, "expected a UserError").to.be.instanceOf(UserError);
  const text = (error as Error).message;
  if (typeof message === "string") expect(text).to.equal(message);
  else expect(text).to.match(message);
  return text;
}
