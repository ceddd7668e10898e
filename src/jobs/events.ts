/**
 * What a job reports while it works, one event at a time: the CLI shows them as a progress bar on a terminal
 * or as JSON lines (one object per line) for pipelines.
 */
export type JobEvent =
  | { event: "start"; job: string; runs: number[]; of: number; out: string }
  | { event: "run-start"; run: number; dir: string; seed: number; steps: number; epochs: number }
  | { event: "skip"; run: number; dir: string; reason: string }
  | { event: "reinit"; run: number; cycle: number; draws: string[]; layers: string[] }
  | { event: "step"; run: number; phase: string; epoch: number; step: number; steps: number; loss: number; lr: number }
  | {
      event: "epoch";
      run: number;
      phase: string;
      epoch: number;
      meanLoss: number;
      seconds: number;
      images: number;
      validation?: { accuracy: number; loss: number };
    }
  | { event: "run-done"; run: number; dir: string; seconds: number; sha256: string }
  | { event: "note"; message: string }
  | { event: "resume"; run: number; dir: string; checkpoint: string; epoch: number; step: number }
  | { event: "checkpoint"; run: number; path: string; epoch: number; step: number }
  | { event: "done"; job: string; made: number; skipped: number; seconds: number };

export type EventSink = (e: JobEvent) => void;
