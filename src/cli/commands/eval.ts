/**
 * `onnx-unlearn eval <run-folder | model.onnx> --data <source> --forget <spec>`: accuracy and mean loss per split,
 * per-class accuracy and the starting kit's membership-inference attack of one model. It reads the forget set:
 * it is the scoring step, not a method. A run folder's results are cached in <run>/eval/<key>.json.
 */
import { existsSync, statSync } from "node:fs";
import type { Command } from "commander";
import { FORGET_SPEC_FORMS, openSource, parseForgetSpec, selectForget, splitTrain } from "../../data/index.js";
import { UserError } from "../../errors.js";
import { evaluateTarget, runNormalisation, type EvalOutcome } from "../../evaluation/eval-cache.js";
import { EVAL_SPLITS } from "../../evaluation/eval-model.js";
import { NORMALISE_HELP, parseNormaliseOption } from "../normalise-option.js";
import { addRuntimeOptions, parseInteger, parseRuntimeOptions } from "../parse.js";
import { addSourceOptions, sourceOptionsFromCli, type SourceCliOptions } from "./data.js";

interface EvalCliOptions extends SourceCliOptions {
  data: string;
  forget?: string;
  forgetSeed: string;
  normalise?: string;
  batch: string;
  evalSeed: string;
  retainLogits: string;
  cache: boolean;
  json?: boolean;
  ep: string;
  threads?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command("eval")
    .description(
      "score one model: accuracy and mean loss on retain/forget/validation/test, per-class accuracy, membership inference (forget vs test); reads the forget set",
    )
    .argument("<target>", "a run folder (model.onnx + manifest.json, from train/unlearn) or a model .onnx")
    .requiredOption("--data <source>", "data source: fashion-mnist, mnist, cifar10:<dir>, folder:<dir>, npy:<x>,<y>")
    .option("--forget <spec>", `the forget set (required): ${FORGET_SPEC_FORMS.join("; ")}`)
    .option("--forget-seed <n>", "seed of a random forget draw, as given to train/unlearn", "0")
    .option("--normalise <how>", `${NORMALISE_HELP} (default: the run's, else none)`)
    .option("--batch <n>", "batch size", "256")
    .option("--eval-seed <seed>", "seed of the attack's balancing and splits and of the retain logit sample", "0")
    .option("--retain-logits <n>", "retain examples whose logits are kept (the report's histograms)", "1000")
    .option("--no-cache", "run folders: neither read nor write eval/<key>.json")
    .option("--json", "print the whole record as JSON");
  addSourceOptions(addRuntimeOptions(cmd)).action(run);
}

async function run(target: string, o: EvalCliOptions): Promise<void> {
  if (o.forget === undefined) throw new UserError("--forget is required: eval scores the model on the forget set");
  if (!existsSync(target)) throw new UserError("does not exist", target);
  const sourceOptions = sourceOptionsFromCli(o);
  const dataset = await openSource(o.data, sourceOptions);
  const forget = selectForget(dataset, parseForgetSpec(o.forget), {
    seed: parseInteger("--forget-seed", o.forgetSeed)!,
  });
  const isFolder = statSync(target).isDirectory();
  const fromRun = isFolder && o.normalise === undefined ? runNormalisation(target) : undefined;
  const normalisation =
    fromRun !== undefined
      ? (fromRun ?? undefined)
      : await parseNormaliseOption(o.normalise ?? "none", dataset.shape.channels, splitTrain(dataset, forget).retain);
  // the data identity of the manifests (src/jobs/job-data.ts): the options that shape the data
  const { cacheDir: _cache, onProgress: _progress, ...dataOptions } = sourceOptions;
  const outcome = await evaluateTarget({
    target,
    dataset,
    forget,
    dataOptions,
    normalisation,
    batchSize: parseInteger("--batch", o.batch, 1),
    seed: o.evalSeed,
    retainLogits: parseInteger("--retain-logits", o.retainLogits, 0),
    cache: o.cache,
    ...parseRuntimeOptions(o),
    onSplit: (split, count) => {
      if (!o.json) process.stderr.write(`evaluating ${split} (${count} examples)\n`);
    },
  });
  process.stdout.write(
    o.json
      ? JSON.stringify({ cached: outcome.cached, cacheFile: outcome.cacheFile, ...outcome.record }, null, 2) + "\n"
      : formatEval(target, outcome),
  );
}

const pct = (v: number | null) => (v === null ? "-" : `${(100 * v).toFixed(2)}%`);

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!.length)));
  return rows.map((r) => r.map((c, j) => (j === 0 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join("  "));
}

export function formatEval(target: string, outcome: EvalOutcome): string {
  const { record, cached, cacheFile } = outcome;
  const e = record.evaluation;
  const splits = EVAL_SPLITS.filter((s) => e.splits[s]);
  const lines = [
    `${target}: model sha256 ${record.model.sha256.slice(0, 12)}, data ${record.data.spec}, forget ${record.forget.spec} (${record.forget.count} examples)`,
    cached
      ? `from the cache: ${cacheFile}`
      : `evaluated in ${e.seconds.toFixed(1)} s${cacheFile ? `; cached in ${cacheFile}` : ""}`,
    "",
    ...table([
      ["split", "examples", "accuracy", "mean loss"],
      ...splits.map((s) => {
        const v = e.splits[s]!;
        return [s, String(v.count), pct(v.accuracy), v.loss.toFixed(4)];
      }),
    ]),
    "",
    "per-class accuracy",
    ...table([
      ["class", ...splits],
      ...e.classNames.map((name, c) => [`${c} ${name}`, ...splits.map((s) => pct(e.splits[s]!.perClass[c]!.accuracy))]),
    ]),
    "",
  ];
  const m = e.mia;
  lines.push(
    m
      ? `membership inference (forget vs test, logistic regression on the loss, ${m.splits} stratified splits, ${m.perSide} + ${m.perSide} examples): ` +
          `accuracy ${m.accuracy.toFixed(3)} ± ${m.std.toFixed(3)} (splits ${m.min.toFixed(3)}-${m.max.toFixed(3)}); 0.5 = nothing to detect`
      : `membership inference skipped: ${e.miaSkipped}`,
  );
  for (const n of record.notes) lines.push(`note: ${n}`);
  return lines.join("\n") + "\n";
}
