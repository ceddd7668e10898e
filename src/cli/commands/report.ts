import type { Command } from "commander";
import { renderReport, writeReport } from "../../evaluation/report/index.js";
import { loadReport } from "../../evaluation/report/load.js";
import { addRuntimeOptions, parseInteger, parseRuntimeOptions } from "../parse.js";

interface ReportCliOptions {
  out: string;
  svgDir?: string;
  title?: string;
  data?: string;
  cacheDir?: string;
  forget?: string;
  forgetSeed?: string;
  batch: string;
  ep: string;
  threads?: string;
}

export function register(program: Command): void {
  const cmd = program
    .command("report")
    .description("write one self-contained HTML report (figures as inline SVG) and the figures as SVG files")
    .argument(
      "<inputs...>",
      "run folders or groups of runs (train/unlearn --runs; evaluated through their caches, scored when an " +
        "unlearned and a retrained group are given), eval records (eval --json) and ReportInput JSON files " +
        "(docs/report.md), merged into one report",
    )
    .requiredOption("--out <file>", "the HTML file")
    .option("--svg-dir <dir>", "folder for the SVG files (default: next to --out, named <stem>-<figure>.svg)")
    .option("--title <text>", "run folders: the page title (default: data and forget set)")
    .option("--data <source>", "run folders: the data source, when it moved since the runs (checked by hash)")
    .option("--cache-dir <dir>", "run folders: decoded-data cache folder (fashion-mnist, mnist)")
    .option("--forget <spec>", "run folders: the forget set, when no run records one that can be reopened")
    .option("--forget-seed <n>", "with --forget: seed of a random forget draw (default: the runs')")
    .option("--batch <n>", "run folders: evaluation batch size", "256");
  addRuntimeOptions(cmd).action(async (paths: string[], o: ReportCliOptions) => {
    const input = await loadReport(paths, {
      title: o.title,
      data: o.data,
      cacheDir: o.cacheDir,
      forget: o.forget,
      forgetSeed: parseInteger("--forget-seed", o.forgetSeed),
      batchSize: parseInteger("--batch", o.batch, 1),
      ...parseRuntimeOptions(o),
      onRun: (r) => process.stderr.write(`${r.dir}: ${r.cached ? "evaluation from its cache" : "evaluated"}\n`),
      onNote: (n) => process.stderr.write(`note: ${n}\n`),
    });
    const report = await renderReport(input);
    const svgs = writeReport(report, { out: o.out, svgDir: o.svgDir });
    process.stdout.write(
      `${o.out}: ${input.models.length} models, ${svgs.length} figures${input.score ? ", score" : ""}\n` +
        svgs.map((p) => `  ${p}\n`).join(""),
    );
  });
}
