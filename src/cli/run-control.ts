/**
 * The options of the commands that train about interruptions, checkpoints and numerical trouble
 * (--checkpoint-every, --resume / --no-resume, --on-nan); Ctrl-C and SIGTERM are in interrupt.ts.
 */
import { ON_NAN, type RunControlOptions } from "../index.js";
import { parseChoice, parseInteger } from "./parse.js";

export interface RunControlCliOptions {
  checkpointEvery?: string;
  resume?: boolean;
  onNan: string;
}

export function addRunControlOptions<C extends { option(flags: string, description: string, dflt?: string): C }>(
  cmd: C,
): C {
  return cmd
    .option(
      "--checkpoint-every <steps>",
      "write <run>/checkpoint.safetensors every n steps (Ctrl-C and SIGTERM write one anyway, then exit 130 / 143)",
    )
    .option("--resume", "continue an unfinished run from its checkpoint of the same request (the default)")
    .option("--no-resume", "start an unfinished run over, discarding its checkpoint")
    .option(
      "--on-nan <what>",
      "a NaN or infinite loss, update or input: stop (naming step, epoch, cycle) or skip the batch (counted in the manifest)",
      "stop",
    );
}

/** The options as train() and unlearn() take them (the stop signal comes from stopOnSignals). */
export function parseRunControl(o: RunControlCliOptions): Omit<RunControlOptions, "signal"> {
  return {
    checkpointEvery: parseInteger("--checkpoint-every", o.checkpointEvery, 1),
    resume: o.resume !== false,
    onNan: parseChoice("--on-nan", o.onNan, ON_NAN),
  };
}
