/** `onnx-unlearn quickstart` (`npm start`): unlearn the shipped model and compare it with the original. */
import type { Command } from "commander";
import { quickstart } from "../../jobs/quickstart.js";
import { jobOutput } from "../job-output.js";
import { addTrainingRuntimeOptions, parseInteger, parseRuntimeOptions, type RuntimeCliOptions } from "../parse.js";

export function register(program: Command): void {
  addTrainingRuntimeOptions(program.command("quickstart"))
    .description(
      "unlearn the shipped Fashion-MNIST model (models/fmnist-5k) with the default settings and compare it with the original: accuracies, membership inference, report.html (what `npm start` runs)",
    )
    .option("--out <dir>", "folder for the unlearned run folder and report.html", "out")
    .option("--seed <n>", "run seed", "0")
    .option("--json-lines", "print progress as JSON lines")
    .action(async (o: RuntimeCliOptions & { out: string; seed: string; jsonLines?: boolean }) => {
      const out = jobOutput(o.jsonLines ?? (process.stdout.isTTY ? undefined : false));
      let result;
      try {
        result = await quickstart({
          outDir: o.out,
          seed: parseInteger("--seed", o.seed),
          ...parseRuntimeOptions(o),
          onEvent: out.onEvent,
        });
      } finally {
        out.close();
      }
      const pct = (x: number) => `${(100 * x).toFixed(2)}%`.padStart(9);
      const lines = [
        "model        retain   forget     test   MIA (forget vs test; 0.5 = nothing to detect)",
        ...result.rows.map(
          (r) =>
            `${r.name.padEnd(10)}${pct(r.retain)}${pct(r.forget)}${pct(r.test)}   ${r.mia === null ? "-" : r.mia.toFixed(3)}`,
        ),
        `unlearned model: ${result.runDir}/model.onnx (manifest.json beside it); report: ${result.report}`,
      ];
      process.stdout.write(lines.join("\n") + "\n");
    });
}
