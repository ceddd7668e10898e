/**
 * `onnx-unlearn train --model <model.onnx | zoo:...> --data <source> --out <dir>`: classifiers from scratch as run
 * folders: the original on all of train, or with --exclude-forget a retrained reference on the retain set only.
 */
import type { Command } from "commander";
import { parseShard, train, TRAIN_DEFAULTS } from "../../index.js";
import { UserError } from "../../errors.js";
import { jobOutput } from "../job-output.js";
import {
  addTrainingRuntimeOptions,
  parseInteger,
  parseNormaliseRequest,
  parseNumber,
  parseRuntimeOptions,
  type RuntimeCliOptions,
} from "../parse.js";
import { addSourceOptions, sourceOptionsFromCli, type SourceCliOptions } from "./data.js";
import { stopOnSignals } from "../interrupt.js";
import { addRunControlOptions, parseRunControl, type RunControlCliOptions } from "../run-control.js";

interface TrainCliOptions extends SourceCliOptions, RunControlCliOptions, RuntimeCliOptions {
  model: string;
  data: string;
  out: string;
  excludeForget?: string;
  forgetSeed: string;
  epochs: string;
  lr: string;
  batch: string;
  momentum: string;
  weightDecay: string;
  normalise: string;
  seed: string;
  runs?: string;
  shard?: string;
  maxSteps?: string;
  jsonLines?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command("train")
    .description(
      "train classifiers from scratch as run folders (model.onnx + manifest.json): the original on all of train, or with --exclude-forget a retrained reference on the retain set",
    )
    .requiredOption(
      "--model <spec>",
      "a .onnx file (every layer re-initialised from the run seed) or zoo:<name>[:width=8,stem=small,...]",
    )
    .requiredOption("--data <source>", "fashion-mnist, mnist, cifar10:<dir>, folder:<dir>, npy:<x>,<y>")
    .requiredOption("--out <dir>", "the run folder, or with --runs the folder of run-000, run-001, ...")
    .option("--exclude-forget <spec>", "train on the retain set only: train minus this forget set (see `data --help`)")
    .option("--forget-seed <n>", "seed of a random forget draw (not the run seed)", "0")
    .option("--epochs <n>", "epochs", String(TRAIN_DEFAULTS.epochs))
    .option("--lr <rate>", "peak learning rate, cosine-annealed to 0 over all steps", String(TRAIN_DEFAULTS.lr))
    .option("--batch <n>", "batch size (the last partial batch is dropped)", String(TRAIN_DEFAULTS.batchSize))
    .option("--momentum <m>", "SGD momentum", String(TRAIN_DEFAULTS.momentum))
    .option("--weight-decay <wd>", "SGD weight decay", String(TRAIN_DEFAULTS.weightDecay))
    .option(
      "--normalise <how>",
      "input normalisation: none (images in [0,1]), auto (mean/std of the training examples) or <mean>,<std> (every channel) or C means then C stds",
      "none",
    )
    .option("--seed <n>", "run seed (of run 0; run r uses seed + r): initial weights and data order", "0")
    .option("--runs <n>", "make n independent runs (seeds seed..seed+n-1) as run-NNN subfolders of --out")
    .option(
      "--shard <i/n|auto>",
      "make only this process's share of the runs (1-based i of n; auto: Kubernetes Indexed Job or Slurm array)",
    )
    .option("--max-steps <n>", "stop every epoch after n steps (quick runs)")
    .option("--json-lines", "print one JSON event per line (the default when stdout is not a terminal)");
  addSourceOptions(addTrainingRuntimeOptions(addRunControlOptions(cmd))).action(run);
}

async function run(o: TrainCliOptions): Promise<void> {
  const control = parseRunControl(o);
  const out = jobOutput(o.jsonLines);
  const stop = stopOnSignals();
  try {
    await train({
      model: o.model,
      data: o.data,
      out: o.out,
      sourceOptions: sourceOptionsFromCli(o),
      excludeForget: o.excludeForget,
      forgetSeed: parseInteger("--forget-seed", o.forgetSeed),
      epochs: parseInteger("--epochs", o.epochs, 1),
      lr: positive("--lr", o.lr),
      batchSize: parseInteger("--batch", o.batch, 1),
      momentum: unit("--momentum", o.momentum),
      weightDecay: nonNegative("--weight-decay", o.weightDecay),
      normalise: parseNormaliseRequest(o.normalise),
      seed: parseInteger("--seed", o.seed),
      runs: parseInteger("--runs", o.runs, 1),
      shard: parseShard(o.shard),
      maxStepsPerEpoch: parseInteger("--max-steps", o.maxSteps, 1),
      ...parseRuntimeOptions(o),
      ...control,
      signal: stop.signal,
      onEvent: out.onEvent,
    });
  } finally {
    stop.dispose();
    out.close();
  }
}

export const positive = (flag: string, v: string) => bounded(flag, v, (x) => x > 0, "> 0");
export const nonNegative = (flag: string, v: string) => bounded(flag, v, (x) => x >= 0, ">= 0");
export const unit = (flag: string, v: string) => bounded(flag, v, (x) => x >= 0 && x < 1, "in [0, 1)");

function bounded(flag: string, v: string, ok: (x: number) => boolean, what: string): number {
  const x = parseNumber(flag, v)!;
  if (!ok(x)) throw new UserError(`${flag} expects a number ${what}, got '${v}'`);
  return x;
}
