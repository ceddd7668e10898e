/** A progress bar on stderr for long epochs, only when stderr is a terminal (logs and CI stay plain). */
import cliProgress from "cli-progress";

export interface StepBar {
  update(step: number, total: number, loss: number, label: string): void;
  stop(): void;
}

export function stepBar(enabled = process.stderr.isTTY === true): StepBar {
  if (!enabled) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: "{label} [{bar}] {value}/{total} steps | loss {loss} | eta {eta_formatted}",
      clearOnComplete: true,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let running = false;
  return {
    update(step, total, loss, label) {
      if (!running) {
        bar.start(total, 0, { loss: "-", label });
        running = true;
      }
      bar.setTotal(total);
      bar.update(step, { loss: loss.toExponential(3), label });
      if (step >= total) {
        bar.stop();
        running = false;
      }
    },
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}
