/** src/cli/parse.ts: the runtime flags the training commands share. */
import { expect } from "chai";
import { Command } from "commander";
import { addTrainingRuntimeOptions, parseRuntimeOptions, type RuntimeCliOptions } from "../../src/cli/parse.js";
import { UserError } from "../../src/errors.js";

const parsed = (argv: string[]) =>
  parseRuntimeOptions(
    addTrainingRuntimeOptions(new Command("x").exitOverride()).parse(argv, { from: "user" }).opts<RuntimeCliOptions>(),
  );

describe("cli/parse: runtime options of the training commands", () => {
  it("--steps-per-run and --spin reach the library options; absent, the library's defaults apply", () => {
    expect(parsed([])).to.deep.equal({
      executionProvider: "cpu",
      intraOpThreads: undefined,
      stepsPerRun: undefined,
      allowSpinning: undefined,
      memoryBudget: undefined,
    });
    expect(parsed(["--steps-per-run", "3", "--spin", "--threads", "2"])).to.deep.include({
      stepsPerRun: 3,
      allowSpinning: true,
      intraOpThreads: 2,
    });
  });

  it("refuses a step count below 1 or not whole, naming the flag", () => {
    for (const v of ["0", "2.5", "x"])
      expect(() => parsed(["--steps-per-run", v]), v).to.throw(UserError, /^--steps-per-run expects /);
  });
});
