/**
 * `onnx-unlearn unlearn <model.onnx> --data <source> --forget <spec> --out <dir>`: the method (or a baseline) as
 * run folders. stochastic and finetune read the retain set only; neggrad reads the forget set.
 */
import type { Command } from "commander";
import {
  EXCLUSIONS,
  LOSSES,
  METHOD_DEFAULTS,
  METHODS,
  PRESETS,
  REINIT_MODES,
  parseShard,
  unlearn,
  type UnlearnConfigInput,
} from "../../index.js";
import { readUnlearnConfigFile } from "../../unlearning/config-file.js";
import { INIT_SCHEMES } from "../../unlearning/reinit.js";
import { jobOutput } from "../job-output.js";
import {
  addTrainingRuntimeOptions,
  parseInteger,
  parseNormaliseRequest,
  parseRuntimeOptions,
  type RuntimeCliOptions,
} from "../parse.js";
import { addSourceOptions, sourceOptionsFromCli, type SourceCliOptions } from "./data.js";
import { stopOnSignals } from "../interrupt.js";
import { addRunControlOptions, parseRunControl, type RunControlCliOptions } from "../run-control.js";

/** Flags that set a config key (config.ts); undefined unless given, so --config values apply when absent. */
const CONFIG_FLAGS: Record<string, keyof UnlearnConfigInput> = {
  preset: "preset",
  method: "method",
  epochs: "epochs",
  layers: "layers",
  schedule: "schedule",
  batch: "batchSize",
  sigma: "sigma",
  momentum: "momentum",
  weightDecay: "weightDecay",
  loss: "loss",
  reinit: "reinit",
  exclude: "exclude",
  init: "init",
};

interface UnlearnCliOptions extends SourceCliOptions, RunControlCliOptions, RuntimeCliOptions, Record<string, unknown> {
  data: string;
  out: string;
  forget?: string;
  forgetSeed: string;
  retainOnly?: boolean;
  config?: string;
  normalise: string;
  seed: string;
  runs?: string;
  shard?: string;
  maxSteps?: string;
  jsonLines?: boolean;
}

const d = METHOD_DEFAULTS.stochastic;

export function register(program: Command): void {
  const cmd = program
    .command("unlearn")
    .description(
      "remove the influence of a forget set from a trained ONNX classifier without reading it (stochastic re-initialisation + knowledge-preserving MSE), or run a baseline; writes run folders (model.onnx + manifest.json)",
    )
    .argument("<model>", "trained classifier (.onnx), input [N,C,H,W], output logits [N,K]")
    .requiredOption(
      "--data <source>",
      "the data the model was trained on: fashion-mnist, mnist, cifar10:<dir>, folder:<dir>, npy:<x>,<y>",
    )
    .requiredOption("--out <dir>", "the run folder, or with --runs the folder of run-000, run-001, ...")
    .option(
      "--forget <spec>",
      "the forget set among the train split: ids:<file>, classes:<c,...>, random:<n|fraction>, stratified:<...>",
    )
    .option("--forget-seed <n>", "seed of a random forget draw (not the run seed)", "0")
    .option("--retain-only", "the source holds only the retain data (its forget examples are gone): no --forget needed")
    .option(
      "--preset <name>",
      `named settings: ${Object.keys(PRESETS).join(", ")} (default: one 5-epoch cycle, k = 6, lr 0.01, the benchmark's best; algo1 = the paper's 3 cycles, k = 6, lr 0.001)`,
    )
    .option("--method <m>", `${METHODS.join(" | ")} (default stochastic; neggrad reads the forget set)`)
    .option(
      "--config <file>",
      "a JSON file with any of the options below (camelCase keys: preset, method, epochs, layers, schedule, batchSize, ...); flags win",
    )
    .option("--epochs <list>", `epochs of each cycle; the list's length is the number of cycles (default ${d.epochs})`)
    .option(
      "--layers <k|list>",
      `layer draws per cycle, with replacement: one number or one per cycle (default ${d.layers})`,
    )
    .option(
      "--schedule <s>",
      `cosine:<lr>[:<tMax epochs>] (restarts every cycle; tMax defaults to the longest cycle), per-epoch:<lr>,... or constant:<lr> (default ${describeSchedule(d.schedule)}; finetune/neggrad: cosine:0.001 over all epochs)`,
    )
    .option("--batch <n>", `batch size (default ${d.batchSize})`)
    .option(
      "--sigma <std>",
      `Gaussian input noise after normalisation, 0 = off (default ${d.sigma}; finetune/neggrad 0)`,
    )
    .option("--momentum <m>", `SGD momentum (default ${d.momentum})`)
    .option("--weight-decay <wd>", `SGD weight decay (default ${d.weightDecay}; neggrad 0)`)
    .option(
      "--loss <l>",
      `${LOSSES.join(" | ")}: MSE to the original's logits or cross-entropy to the labels (default mse; finetune/neggrad ce)`,
    )
    .option("--reinit <r>", `${REINIT_MODES.join(" | ")} (default random; finetune/neggrad none)`)
    .option(
      "--exclude <list>",
      `roles kept out of the re-init pool: ${EXCLUSIONS.join(",")} or none (default ${d.exclude})`,
    )
    .option("--init <scheme>", `fresh-layer initialisation: ${INIT_SCHEMES.join(" or ")} (default ${d.init})`)
    .option(
      "--normalise <how>",
      "input normalisation the model expects: none (images in [0,1]), auto (retain-set mean/std) or <mean>,<std> or C means then C stds",
      "none",
    )
    .option("--seed <n>", "run seed of run 0 (run r uses seed + r): layer draws, data order, noise", "0")
    .option("--runs <n>", "make n independent runs as run-NNN subfolders of --out")
    .option(
      "--shard <i/n|auto>",
      "make only this process's share of the runs (1-based i of n; auto: Kubernetes Indexed Job or Slurm array)",
    )
    .option("--max-steps <n>", "stop every epoch after n steps (quick runs)")
    .option("--json-lines", "print one JSON event per line (the default when stdout is not a terminal)");
  addSourceOptions(addTrainingRuntimeOptions(addRunControlOptions(cmd))).action(run);
}

async function run(modelPath: string, o: UnlearnCliOptions): Promise<void> {
  const config: UnlearnConfigInput = o.config ? readUnlearnConfigFile(o.config) : {};
  for (const [flag, key] of Object.entries(CONFIG_FLAGS)) {
    const v = o[flag];
    if (typeof v === "string") (config as Record<string, unknown>)[key] = v;
  }
  const control = parseRunControl(o);
  const out = jobOutput(o.jsonLines);
  const stop = stopOnSignals();
  try {
    await unlearn({
      model: modelPath,
      data: o.data,
      sourceOptions: sourceOptionsFromCli(o),
      forget: o.forget,
      forgetSeed: parseInteger("--forget-seed", o.forgetSeed),
      retainOnly: o.retainOnly,
      normalise: parseNormaliseRequest(o.normalise),
      config,
      out: o.out,
      runs: parseInteger("--runs", o.runs, 1),
      shard: parseShard(o.shard),
      seed: parseInteger("--seed", o.seed),
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

function describeSchedule(s: (typeof d)["schedule"]): string {
  if (s.kind === "cosine") return `cosine:${s.lr}:${s.tMax}`;
  if (s.kind === "constant") return `constant:${s.lr}`;
  return `per-epoch:${s.rates.join(",")}`;
}
