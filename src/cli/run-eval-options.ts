/**
 * The options of the commands that evaluate run folders through their caches (score, report): the data and forget
 * set when they moved since the runs, the evaluation batch, and the runtime.
 */
import type { Command } from "commander";
import { addRuntimeOptions, parseInteger, parseRuntimeOptions } from "./parse.js";

export interface RunEvalCliOptions {
  data?: string;
  cacheDir?: string;
  forget?: string;
  forgetSeed?: string;
  batch: string;
  ep: string;
  threads?: string;
  memoryBudget?: string;
}

export function addRunEvalOptions(cmd: Command, forgetHelp: string): Command {
  return addRuntimeOptions(
    cmd
      .option("--data <source>", "run folders: the data source, when it moved since the runs (checked by hash)")
      .option("--cache-dir <dir>", "run folders: decoded-data cache folder (fashion-mnist, mnist)")
      .option("--forget <spec>", forgetHelp)
      .option("--forget-seed <n>", "with --forget: seed of a random forget draw (default: the runs')")
      .option("--batch <n>", "run folders: evaluation batch size", "256"),
  );
}

export function parseRunEvalOptions(o: RunEvalCliOptions) {
  return {
    data: o.data,
    cacheDir: o.cacheDir,
    forget: o.forget,
    forgetSeed: parseInteger("--forget-seed", o.forgetSeed),
    batchSize: parseInteger("--batch", o.batch, 1),
    ...parseRuntimeOptions(o),
  };
}
