import type { Command } from "commander";
import { loadReportInputs, renderReport, writeReport } from "../../evaluation/report/index.js";

export function register(program: Command): void {
  program
    .command("report")
    .description("write one self-contained HTML report (figures as inline SVG) and the figures as SVG files")
    .argument("<inputs...>", "ReportInput JSON files (docs/report.md), merged into one report")
    .requiredOption("--out <file>", "the HTML file")
    .option("--svg-dir <dir>", "folder for the SVG files (default: next to --out, named <stem>-<figure>.svg)")
    .action(async (paths: string[], o: { out: string; svgDir?: string }) => {
      const input = loadReportInputs(paths);
      const report = await renderReport(input);
      const svgs = writeReport(report, { out: o.out, svgDir: o.svgDir });
      process.stdout.write(
        `${o.out}: ${input.models.length} models, ${svgs.length} figures${input.score ? ", score" : ""}\n` +
          svgs.map((p) => `  ${p}\n`).join(""),
      );
    });
}
