/**
 * `onnx-unlearn benchmark` (`npm run benchmark -- ...`): the quality benchmark from cached run folders; stop it at
 * any moment and run it again to resume, or run shards on several machines (docs/SCALING.md).
 */
import type { Command } from "commander";
import { UserError } from "../../errors.js";
import { runBenchmark, STAGES, type Stage } from "../../jobs/benchmark/benchmark.js";
import { resultsMarkdown } from "../../jobs/benchmark/markdown.js";
import { SUITES } from "../../jobs/benchmark/suites.js";
import { parseShard } from "../../runs/index.js";
import { jobOutput } from "../job-output.js";
import { addTrainingRuntimeOptions, parseInteger, parseRuntimeOptions, type RuntimeCliOptions } from "../parse.js";

interface BenchmarkCliOptions extends RuntimeCliOptions {
  suite: string;
  root: string;
  methods?: string;
  runs: string;
  ablationRuns?: string;
  stages?: string;
  shard?: string;
  jsonLines?: boolean;
}

export function register(program: Command): void {
  addTrainingRuntimeOptions(program.command("benchmark"))
    .description(
      "the quality benchmark: an original, 2N retrained models and N runs of each method as cached run folders, then the challenge score of each method against the retrained runs (results.json, results.md, report.html)",
    )
    .option("--suite <name>", `suite: ${Object.keys(SUITES).join(", ")}`, "fmnist-5k")
    .option("--root <dir>", "folder of the cached run folders (resumes from what is there)", "runs/benchmark")
    .option("--methods <list>", "methods to run and score (default: all of the suite's)")
    .option("--runs <n>", "N: runs per method (2N retrained models: N to score against, N for the ideal)", "16")
    .option("--ablation-runs <n>", "runs per ablation step and per sweep setting (default N)")
    .option("--stages <list>", `what to do: ${STAGES.join(",")} (default all; score evaluates finished runs only)`)
    .option(
      "--shard <i/n|auto>",
      "make only this process's share of the runs (the original: shard 1 only); the score stage evaluates this share first, so shards scoring side by side split the evaluations",
    )
    .option("--json-lines", "print one JSON event per line")
    .action(async (o: BenchmarkCliOptions) => {
      const suite = SUITES[o.suite];
      if (!suite) throw new UserError(`unknown suite '${o.suite}'; suites: ${Object.keys(SUITES).join(", ")}`);
      const methods = o.methods?.split(",").map((m) => m.trim());
      const unknown = methods?.filter((m) => !suite.methods[m]) ?? [];
      if (unknown.length) {
        throw new UserError(
          `unknown method(s) ${unknown.join(", ")}; ${suite.name} has ${Object.keys(suite.methods).join(", ")}`,
        );
      }
      const stages = o.stages?.split(",").map((s) => s.trim()) as Stage[] | undefined;
      const badStage = stages?.find((s) => !STAGES.includes(s));
      if (badStage) throw new UserError(`--stages: unknown stage '${badStage}'; stages: ${STAGES.join(", ")}`);
      const out = jobOutput(o.jsonLines);
      try {
        const results = await runBenchmark({
          suite,
          root: o.root,
          methods,
          runs: parseInteger("--runs", o.runs, 1)!,
          ablationRuns: parseInteger("--ablation-runs", o.ablationRuns, 1),
          stages,
          shard: parseShard(o.shard),
          ...parseRuntimeOptions(o),
          onEvent: out.onEvent,
          log: (line) => process.stderr.write(line + "\n"),
        });
        if (results) process.stderr.write("\n" + resultsMarkdown(results));
      } finally {
        out.close();
      }
    });
}
