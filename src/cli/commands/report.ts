import type { Command } from "commander";
import { renderReport, writeReport } from "../../evaluation/report/index.js";
import { loadReport } from "../../evaluation/report/load.js";
import { addRunEvalOptions, parseRunEvalOptions, type RunEvalCliOptions } from "../run-eval-options.js";

interface ReportCliOptions extends RunEvalCliOptions {
  out: string;
  svgDir?: string;
  title?: string;
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
    .option("--title <text>", "run folders: the page title (default: data and forget set)");
  addRunEvalOptions(cmd, "run folders: the forget set, when no run records one that can be reopened").action(
    async (paths: string[], o: ReportCliOptions) => {
      const input = await loadReport(paths, {
        title: o.title,
        ...parseRunEvalOptions(o),
        onRun: (r) => process.stderr.write(`${r.dir}: ${r.cached ? "evaluation from its cache" : "evaluated"}\n`),
        onNote: (n) => process.stderr.write(`note: ${n}\n`),
      });
      const report = await renderReport(input);
      const svgs = writeReport(report, { out: o.out, svgDir: o.svgDir });
      process.stdout.write(
        `${o.out}: ${input.models.length} models, ${svgs.length} figures${input.score ? ", score" : ""}\n` +
          svgs.map((p) => `  ${p}\n`).join(""),
      );
    },
  );
}
