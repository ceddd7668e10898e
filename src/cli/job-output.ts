/**
 * How a job's events reach the user: a progress bar with rate and ETA on a terminal (plus one line per epoch and
 * run), or JSON lines on stdout (one event per line) with --json-lines or when stdout is not a terminal.
 */
import type { JobEvent } from "../jobs/events.js";
import { stepBar } from "./progress-bar.js";

export function jobOutput(jsonLines: boolean | undefined): { onEvent: (e: JobEvent) => void; close(): void } {
  const asJson = jsonLines === true || process.stdout.isTTY !== true;
  if (asJson) {
    return {
      onEvent: (e) => {
        if (e.event !== "step") process.stdout.write(JSON.stringify(e) + "\n");
      },
      close() {},
    };
  }
  const bar = stepBar(process.stderr.isTTY === true);
  const line = (s: string) => {
    bar.stop();
    process.stderr.write(s + "\n");
  };
  return {
    onEvent: (e) => {
      switch (e.event) {
        case "start":
          return line(`${e.job}: ${e.runs.length} of ${e.of} run(s) in ${e.out}`);
        case "step":
          return bar.update(e.step, e.steps, e.loss, `run ${e.run} ${e.phase} epoch ${e.epoch + 1}`);
        case "epoch": {
          const v = e.validation ? `, validation ${(100 * e.validation.accuracy).toFixed(2)}%` : "";
          return line(
            `run ${e.run} ${e.phase} epoch ${e.epoch + 1}: mean loss ${e.meanLoss.toExponential(3)}, ${(e.images / e.seconds).toFixed(0)} img/s${v}`,
          );
        }
        case "reinit":
          return line(`run ${e.run} cycle ${e.cycle + 1}: re-initialised ${e.layers.join(", ") || "nothing"}`);
        case "skip":
          return line(`run ${e.run}: ${e.dir} ${e.reason}, skipped`);
        case "run-done":
          return line(`run ${e.run}: ${e.dir} done in ${e.seconds.toFixed(1)} s`);
        case "note":
          return line(e.message);
        case "done":
          return line(`${e.job}: ${e.made} made, ${e.skipped} skipped, ${e.seconds.toFixed(1)} s`);
        case "resume":
          return line(`run ${e.run}: continuing from ${e.checkpoint} (epoch ${e.epoch + 1}, step ${e.step})`);
        case "run-start":
        case "checkpoint":
          return;
      }
    },
    close: () => bar.stop(),
  };
}
