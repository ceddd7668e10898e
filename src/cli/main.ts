/**
 * The command line: parses arguments and calls the library. A UserError becomes one line on stderr and
 * exit code 2 (stack trace only with --verbose); anything else is a bug and exits 1 with its stack.
 */
import { Command, CommanderError } from "commander";
import { isUserError } from "../errors.js";
import { setOrtVerbose } from "../training/ort-log.js";
import { CheckFailed } from "./check-failed.js";
import { registerCommands } from "./commands/index.js";

export async function main(argv: string[]): Promise<number> {
  const program = new Command("onnx-unlearn")
    .description(
      "Machine unlearning for ONNX image classifiers: remove a forget set's influence using only the retain set.",
    )
    .option("--verbose", "print stack traces for errors and onnxruntime's own warnings")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerCommands(program);
  const verbose = argv.includes("--verbose");
  setOrtVerbose(verbose);
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof CheckFailed) {
      process.stderr.write(`onnx-unlearn: ${e.message}\n`);
      return 1;
    }
    if (isUserError(e)) {
      process.stderr.write(`onnx-unlearn: ${e.message}\n`);
      if (verbose) process.stderr.write(`${e.stack}\n`);
      return 2;
    }
    process.stderr.write(`onnx-unlearn: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  }
}
