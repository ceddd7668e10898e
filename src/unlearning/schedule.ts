/**
 * Learning-rate schedules of the method's forget-remember cycles. A schedule gives the rate for a step from
 * (cycle, epoch within the cycle, fraction of that epoch done).
 */
import { UserError } from "../errors.js";

export type Schedule =
  /** Cosine annealing restarted every cycle: lr0 * (1 + cos(pi * t / tMax)) / 2, t in epochs since the cycle began (Algo 1: lr0 0.001, tMax 2). */
  | { kind: "cosine"; lr: number; tMax: number }
  /** One rate per epoch, counting epochs over all cycles (Algo 2: 0.0005, 0.001, 0.001, 0.001, 0.001). */
  | { kind: "per-epoch"; rates: number[] }
  | { kind: "constant"; lr: number };

export function learningRate(s: Schedule, at: { globalEpoch: number; epochInCycle: number; progress: number }): number {
  switch (s.kind) {
    case "constant":
      return s.lr;
    case "cosine": {
      const t = at.epochInCycle + at.progress;
      // lr0 * ((1 + cos) / 2): the same number as (lr0 * (1 + cos)) / 2, without overflowing for lr0 near the largest double
      return s.lr * ((1 + Math.cos((Math.PI * t) / s.tMax)) / 2);
    }
    case "per-epoch":
      return s.rates[Math.min(at.globalEpoch, s.rates.length - 1)]!;
  }
}

/** Parses "cosine:0.001:2", "per-epoch:0.0005,0.001,..." or "constant:0.01". */
export function parseSchedule(text: string): Schedule {
  const [kind, a, b] = text.split(":");
  const num = (v: string | undefined, what: string) => {
    const x = Number(v);
    if (v === undefined || v === "" || !Number.isFinite(x) || x < 0)
      throw new UserError(`expected ${what} (a number >= 0)`, `--schedule ${text}`);
    return x;
  };
  const positive = (x: number) => {
    if (x === 0) throw new UserError("expected T_max in epochs (a number > 0)", `--schedule ${text}`);
    return x;
  };
  if (kind === "cosine")
    return { kind, lr: num(a, "the initial rate"), tMax: b === undefined ? 2 : positive(num(b, "T_max in epochs")) };
  if (kind === "constant") return { kind, lr: num(a, "the rate") };
  if (kind === "per-epoch") return { kind, rates: (a ?? "").split(",").map((r) => num(r, "a rate per epoch")) };
  throw new UserError("expected cosine:<lr>[:<tMax>], per-epoch:<lr>,<lr>,... or constant:<lr>", `--schedule ${text}`);
}
