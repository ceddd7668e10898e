/**
 * `onnx-unlearn unlearn <model.onnx> --data <source> --forget <spec> --out <model.onnx>`: stochastic
 * unlearning of a trained classifier. The method itself sees only the retain set; the forget set is read
 * only to score the result (skip that with --no-eval).
 */
import type { Command } from "commander";
import {
  computeNormalisation,
  retainOnlyView,
  splitTrain,
  type Dataset,
  type ForgetSet,
  type Normalisation,
} from "../../data/index.js";
import { UserError } from "../../errors.js";
import { scoreModel } from "../../evaluation/score-model.js";
import { accuracyTable, type ScoreSheet } from "../../evaluation/table.js";
import { loadModel, type ModelFile } from "../../onnx/model-io.js";
import { writeFileAtomic } from "../../io/atomic-write.js";
import { saveWithWeights } from "../../interop/with-weights.js";
import { INIT_SCHEMES, type InitScheme } from "../../unlearning/reinit.js";
import { parseSchedule } from "../../unlearning/schedule.js";
import { describeProgress } from "../../unlearning/progress.js";
import { stochasticUnlearning } from "../../unlearning/stochastic-unlearning.js";
import {
  addRuntimeOptions,
  parseChoice,
  parseInteger,
  parseNumber,
  parseNumberList,
  parseRuntimeOptions,
} from "../parse.js";
import { stepBar } from "../progress-bar.js";
import {
  addForgetOptions,
  addSourceOptions,
  forgetFromCli,
  openSourceFromCli,
  type ForgetCliOptions,
  type SourceCliOptions,
} from "./data.js";

interface UnlearnCliOptions extends SourceCliOptions, ForgetCliOptions {
  data: string;
  out: string;
  epochs: string;
  layers: string;
  schedule: string;
  batch: string;
  sigma: string;
  momentum: string;
  weightDecay: string;
  init: string;
  normalise: string;
  ep: string;
  threads?: string;
  maxSteps?: string;
  eval: boolean;
  evalLimit?: string;
  report?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command("unlearn")
    .description(
      "remove the influence of a forget set from a trained ONNX classifier, training on the retain set only (stochastic re-initialisation + knowledge-preserving MSE)",
    )
    .argument("<model>", "trained classifier (.onnx), input [N,C,H,W], output logits [N,K]")
    .requiredOption(
      "--data <source>",
      "data source the model was trained on: fashion-mnist, mnist, cifar10:<dir>, folder:<dir>, npy:<x>,<y>",
    )
    .requiredOption("--out <file>", "where to write the unlearned model (.onnx; same graph and names, new weights)")
    .option("--epochs <list>", "remembering epochs of each cycle; the list's length is the number of cycles", "1,2,2")
    .option("--layers <k>", "layer draws per cycle (with replacement)", "6")
    .option(
      "--schedule <s>",
      "learning rate: cosine:<lr>[:<tMax epochs>] (restarts every cycle), per-epoch:<lr>,<lr>,... or constant:<lr>",
      "cosine:0.001:2",
    )
    .option("--batch <n>", "batch size", "64")
    .option("--sigma <std>", "Gaussian input noise, after normalisation", "0.01")
    .option("--momentum <m>", "SGD momentum", "0.9")
    .option("--weight-decay <wd>", "SGD weight decay", "5e-4")
    .option("--init <scheme>", `fresh-layer initialisation: ${INIT_SCHEMES.join(" or ")}`, "torchvision")
    .option(
      "--normalise <how>",
      "input normalisation the model expects: none (images in [0,1]), auto (train-split mean/std) or <mean>,<std>[,...] per channel",
      "none",
    )
    .option("--max-steps <n>", "stop every epoch after n steps (quick runs)")
    .option("--no-eval", "do not score the models on retain/forget/test afterwards")
    .option("--eval-limit <n>", "score on at most n examples per split")
    .option("--report <file>", "write the run's report (layers drawn, losses, accuracies) as JSON")
    .option("--json", "print the report as JSON instead of text");
  addForgetOptions(addSourceOptions(addRuntimeOptions(cmd))).action(run);
}

async function run(modelPath: string, o: UnlearnCliOptions): Promise<void> {
  if (o.forget === undefined)
    throw new UserError("--forget is required: the retain set is the train split minus the forget set");
  const model = loadModel(modelPath);
  const dataset = await openSourceFromCli(o.data, o);
  const forget = forgetFromCli(dataset, o)!;
  const retain = retainOnlyView(dataset, forget);
  if (retain.count === 0) throw new UserError("the retain set is empty", `--forget ${o.forget}`);
  const normalisation = await parseNormalise(o.normalise, dataset);
  const log = (s: string) => {
    if (!o.json) process.stderr.write(s + "\n");
  };
  const started = performance.now();
  const runtime = parseRuntimeOptions(o);
  const bar = stepBar(!o.json && process.stderr.isTTY === true);
  let result: Awaited<ReturnType<typeof stochasticUnlearning>>;
  try {
    result = await stochasticUnlearning({
      model,
      retain,
      normalisation,
      epochs: parseNumberList("--epochs", o.epochs)!,
      layersPerCycle: parseInteger("--layers", o.layers)!,
      schedule: parseSchedule(o.schedule),
      batchSize: parseInteger("--batch", o.batch, 1)!,
      noiseSigma: parseNumber("--sigma", o.sigma)!,
      momentum: parseNumber("--momentum", o.momentum)!,
      weightDecay: parseNumber("--weight-decay", o.weightDecay)!,
      init: parseChoice<InitScheme>("--init", o.init, INIT_SCHEMES)!,
      seed: o.seed ?? 0,
      ...runtime,
      maxStepsPerEpoch: parseInteger("--max-steps", o.maxSteps, 1),
      onProgress: (e) => {
        if (e.kind === "step")
          return bar.update(e.step, e.stepsInEpoch, e.loss, `cycle ${e.cycle + 1} epoch ${e.epoch + 1}`);
        bar.stop();
        if (e.kind === "start")
          log(
            `${modelPath}: unlearning ${forget.ids.length} of ${dataset.train.count} training examples (${forget.description}); retain ${retain.count}, ${e.stepsPerEpoch} steps per epoch`,
          );
        else log(describeProgress(e));
      },
    });
  } finally {
    bar.stop();
  }
  let scores: ScoreSheet | undefined;
  try {
    saveWithWeights(model, result.session.getParameters(), o.out);
    log(`wrote ${o.out} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    if (o.eval) scores = await score(model, o, dataset, forget, normalisation);
  } finally {
    await result.session.release();
  }
  const report = {
    model: modelPath,
    out: o.out,
    data: o.data,
    forget: forget.description,
    forgetCount: forget.ids.length,
    retainCount: retain.count,
    cycles: result.cycles,
    scores,
  };
  if (o.report) writeFileAtomic(o.report, new TextEncoder().encode(JSON.stringify(report, null, 2) + "\n"));
  if (o.json) process.stdout.write(JSON.stringify(report, null, 2) + "\n");
  else if (scores) process.stdout.write(accuracyTable(scores));
}

async function score(
  model: ModelFile,
  o: UnlearnCliOptions,
  dataset: Dataset,
  forget: ForgetSet,
  normalisation?: Normalisation,
): Promise<ScoreSheet> {
  const { forget: forgetSet, retain } = splitTrain(dataset, forget);
  const sets = { retain, forget: forgetSet, test: dataset.test };
  const opts = { normalisation, limit: parseInteger("--eval-limit", o.evalLimit, 1), ...parseRuntimeOptions(o) };
  return { original: await scoreModel(model, sets, opts), unlearned: await scoreModel(loadModel(o.out), sets, opts) };
}

async function parseNormalise(text: string, dataset: Dataset): Promise<Normalisation | undefined> {
  if (text === "none") return undefined;
  if (text === "auto") return computeNormalisation(dataset.train);
  const v = parseNumberList("--normalise", text)!;
  const c = dataset.shape.channels;
  if (v.length !== 2 && v.length !== 2 * c)
    throw new UserError(`--normalise expects none, auto, <mean>,<std> or ${c} means then ${c} stds, got '${text}'`);
  const mean = v.length === 2 ? Array(c).fill(v[0]) : v.slice(0, c);
  const std = v.length === 2 ? Array(c).fill(v[1]) : v.slice(c);
  return { mean, std };
}
