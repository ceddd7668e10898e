/**
 * The command line: parses arguments and calls the library. A UserError becomes one line on stderr and
 * exit code 2 (stack trace only with --verbose); Interrupted (Ctrl-C, SIGTERM) one line saying where the
 * checkpoint is and how to resume, and exit code 128 + the signal's number; anything else is a bug and exits 1
 * with its stack.
 */
import { Command, CommanderError } from "commander";
import { Interrupted, isUserError, oneLine } from "../errors.js";
import { setOrtVerbose } from "../training/ort-log.js";
import { CheckFailed } from "./check-failed.js";
import { registerCommands } from "./commands/index.js";
import { signalExitCode } from "./interrupt.js";

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
    if (e instanceof Interrupted) {
      const again = `run the same command again to ${e.checkpoint ? "resume" : "continue"}: onnx-unlearn ${argv.map(shellWord).join(" ")}`;
      process.stderr.write(`onnx-unlearn: ${oneLine(`${e.reason}: ${e.message}; ${again}`)}\n`);
      return signalExitCode(e.reason);
    }
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

/** `word` as a POSIX shell reads it back: bare when safe, else in single quotes. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}
