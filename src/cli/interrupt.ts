/**
 * Ctrl-C (SIGINT) and SIGTERM for the commands that train: the first asks the job to stop after the current step
 * (it writes a checkpoint and throws Interrupted, which main() turns into one line and exit 128 + the signal's
 * number); a second one ends the process at once. The atomic writer (src/io/atomic-write.ts) leaves a signal
 * that someone else listens for to them: a file being written when the first signal comes is finished, and one
 * being written when the second comes is removed by its exit hook.
 */
import { constants } from "node:os";

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/** Exit status for a process ended by `signal`, as shells report it (130 for SIGINT, 143 for SIGTERM). */
export function signalExitCode(signal: string): number {
  const n = (constants.signals as Record<string, number | undefined>)[signal];
  return n === undefined ? 1 : 128 + n;
}

/**
 * Listens for SIGINT and SIGTERM until dispose(): the returned signal aborts (its reason the signal's name) at the
 * first, the process exits at the second.
 */
export function stopOnSignals(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const handler = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      process.stderr.write(`onnx-unlearn: ${sig} again: stopped at once, without a checkpoint of this step\n`);
      process.exit(signalExitCode(sig));
    }
    controller.abort(sig);
    if (process.stderr.isTTY)
      process.stderr.write(`\nonnx-unlearn: ${sig}: stopping after the current step (again to stop at once)\n`);
  };
  for (const sig of SIGNALS) process.on(sig, handler);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const sig of SIGNALS) process.removeListener(sig, handler);
    },
  };
}
