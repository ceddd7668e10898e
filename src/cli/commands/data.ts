/**
 * `onnx-unlearn data <source>`: what a data source holds (splits, classes, shape, value range) and, with
 * --forget, the forget/retain sizes. addSourceOptions/openSourceFromCli are shared with the commands that train.
 */
import { Presets, SingleBar } from "cli-progress";
import type { Command } from "commander";
import { UserError } from "../../errors.js";
import { checkNotAnInput, checkOutputPath } from "../../io/paths.js";
import { parseNumber } from "../parse.js";
import { checkImageShape } from "../../data/sources/image-limits.js";
import {
  FORGET_SPEC_FORMS,
  openSource,
  parseForgetSpec,
  selectForget,
  SOURCE_SPECS,
  summariseDataset,
  writeForgetList,
  type Dataset,
  type DatasetSummary,
  type ForgetSet,
  type OpenSourceOptions,
} from "../../data/index.js";

export interface SourceCliOptions {
  validation?: string;
  testFraction?: string;
  splitSeed?: string;
  cacheDir?: string;
  shape?: string;
  resize?: boolean;
  onCorrupt?: string;
  numClasses?: string;
  pixelCache?: boolean;
  trainSubset?: string;
}

export interface ForgetCliOptions {
  forget?: string;
  seed?: string;
  writeForget?: string;
}

/** Adds the options that open a data source (the source itself is an argument or option of the command). */
export function addSourceOptions(cmd: Command): Command {
  return cmd
    .option("--validation <fraction>", "fraction of train held out as validation, stratified (default 0)")
    .option("--test-fraction <fraction>", "mnist/folder/npy: fraction held out for test (default 0.2)")
    .option("--split-seed <seed>", "seed of the fixed splits (default split-v1)")
    .option(
      "--cache-dir <dir>",
      "fashion-mnist/mnist: decoded-data cache folder (default node_modules/.cache/onnx-unlearn)",
    )
    .option("--shape <CxHxW>", "folder: image shape (default: the first image's)")
    .option("--resize", "folder: resize images of another size instead of stopping")
    .option("--on-corrupt <policy>", "folder: stop (default) or skip on a file that cannot be decoded")
    .option("--pixel-cache", "folder: decode every file once into a cache of 8-bit rows and read batches from it")
    .option("--num-classes <n>", "npy: number of classes (default: largest label + 1)")
    .option(
      "--train-subset <n>",
      "keep only n training examples, drawn with the split seed (test and validation unchanged)",
    );
}

/** Adds --forget, --seed and --write-forget. */
export function addForgetOptions(cmd: Command): Command {
  return cmd
    .option("--forget <spec>", `forget set: ${FORGET_SPEC_FORMS.join("; ")}`)
    .option("--seed <seed>", "run seed (random forget sets)", "0")
    .option("--write-forget <file>", "write the forget ids as JSON (reusable as ids:<file>)");
}

export async function openSourceFromCli(spec: string, o: SourceCliOptions): Promise<Dataset> {
  return openSource(spec, sourceOptionsFromCli(o));
}

/** The OpenSourceOptions the source flags give (with a progress bar for the pixel cache). */
export function sourceOptionsFromCli(o: SourceCliOptions): OpenSourceOptions {
  const options: OpenSourceOptions = {
    trainSubset: parseNumber("--train-subset", o.trainSubset),
    validationFraction: parseNumber("--validation", o.validation),
    testFraction: parseNumber("--test-fraction", o.testFraction),
    splitSeed: o.splitSeed,
    cacheDir: o.cacheDir,
    shape: o.shape === undefined ? undefined : parseShape(o.shape),
    resize: o.resize,
    onCorrupt: o.onCorrupt === undefined ? undefined : corruptPolicy(o.onCorrupt),
    numClasses: parseNumber("--num-classes", o.numClasses),
    pixelCache: o.pixelCache,
  };
  for (const k of Object.keys(options) as (keyof OpenSourceOptions)[]) if (options[k] === undefined) delete options[k];
  let bar: SingleBar | undefined;
  options.onProgress = (done, total) => {
    bar ??= new SingleBar(
      { format: "decoding images into the pixel cache [{bar}] {value}/{total}", stream: process.stderr },
      Presets.shades_classic,
    );
    if (!bar.isActive) bar.start(total, done);
    else bar.update(done);
    if (done === total) bar.stop();
  };
  return options;
}

/**
 * Checks --forget/--write-forget before any work: the output path (folder exists, not a folder, writable), that
 * it is not the id list being read, and that --write-forget comes with --forget.
 */
export function checkForgetCliOptions(o: ForgetCliOptions): void {
  if (o.writeForget === undefined) return;
  if (o.forget === undefined) throw new UserError("--write-forget needs --forget");
  checkOutputPath(o.writeForget, "--write-forget");
  const idFile = o.forget.startsWith("ids:") ? o.forget.slice(4) : o.forget.includes(":") ? undefined : o.forget;
  if (idFile) checkNotAnInput(o.writeForget, [{ path: idFile, what: "the forget id list" }], "--write-forget");
}

/** The forget set of --forget (undefined without it), written to --write-forget when given. */
export function forgetFromCli(dataset: Dataset, o: ForgetCliOptions): ForgetSet | undefined {
  if (o.forget === undefined) {
    if (o.writeForget) throw new UserError("--write-forget needs --forget");
    return undefined;
  }
  const forget = selectForget(dataset, parseForgetSpec(o.forget), { seed: o.seed ?? 0 });
  if (o.writeForget) writeForgetList(o.writeForget, dataset, forget);
  return forget;
}

function parseShape(text: string) {
  const m = /^(\d+)x(\d+)x(\d+)$/.exec(text);
  if (!m || m.slice(1).some((d) => Number(d) < 1))
    throw new UserError(`--shape expects CxHxW (e.g. 1x28x28), got '${text}'`);
  const shape = { channels: Number(m[1]), height: Number(m[2]), width: Number(m[3]) };
  checkImageShape(shape, "--shape");
  return shape;
}

function corruptPolicy(text: string): "stop" | "skip" {
  if (text !== "stop" && text !== "skip") throw new UserError(`--on-corrupt expects stop or skip, got '${text}'`);
  return text;
}

export function register(program: Command): void {
  const cmd = program
    .command("data")
    .description(
      "show what a data source holds: counts per split and class, image shape, value range, forget/retain sizes",
    )
    .argument("<source>", SOURCE_SPECS.join(" | "))
    .option("--json", "print the summary as JSON")
    .option("--no-scan", "skip reading every image for the value range");
  addForgetOptions(addSourceOptions(cmd)).action(
    async (spec: string, o: SourceCliOptions & ForgetCliOptions & { json?: boolean; scan: boolean }) => {
      checkForgetCliOptions(o);
      const dataset = await openSourceFromCli(spec, o);
      const forget = forgetFromCli(dataset, o);
      const summary = await summariseDataset(dataset, { forget, valueRange: o.scan });
      process.stdout.write(o.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary));
    },
  );
}

export function formatSummary(s: DatasetSummary): string {
  const { channels, height, width } = s.shape;
  const rows: [string, number, number[]][] = [
    ["train", s.splits.train.count, s.splits.train.perClass],
    ["validation", s.splits.validation.count, s.splits.validation.perClass],
    ["test", s.splits.test.count, s.splits.test.perClass],
  ];
  if (s.forget && s.retain)
    rows.push(["forget", s.forget.count, s.forget.perClass], ["retain", s.retain.count, s.retain.perClass]);
  const header = ["split", "total", ...s.classNames.map((n, c) => `${c}:${n}`)];
  const table = [header, ...rows.map(([name, n, per]) => [name, String(n), ...per.map(String)])];
  const widths = header.map((_, j) => Math.max(...table.map((r) => r[j].length)));
  const lines = [
    `source: ${s.source}`,
    `images: ${channels}x${height}x${width} (channels x height x width), ${s.numClasses} classes`,
    ...(s.valueRange
      ? [
          `value range: [${s.valueRange.min}, ${s.valueRange.max}]${s.valueRange.unreadable ? `, ${s.valueRange.unreadable} unreadable files skipped` : ""}`,
        ]
      : []),
    ...(s.forget ? [`forget: ${s.forget.description}`] : []),
    ...table.map((r) => r.map((v, j) => (j === 0 ? v.padEnd(widths[j]) : v.padStart(widths[j]))).join("  ")),
    ...s.notes.map((n) => `note: ${n}`),
  ];
  return `${lines.join("\n")}\n`;
}
