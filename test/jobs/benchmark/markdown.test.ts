import { expect } from "chai";
import { resultsMarkdown } from "../../../src/jobs/benchmark/markdown.js";
import type { BenchmarkResults, MethodResult } from "../../../src/jobs/benchmark/score.js";

const method = (name: string, group: string, F: number, vs?: MethodResult["vsHeadline"]): MethodResult => ({
  method: name,
  label: name,
  group,
  runs: 8,
  S: 500,
  F,
  F_low: F - 0.01,
  F_high: F + 0.01,
  final: F,
  RA: 95,
  TA: 88,
  FA: 90,
  mia: 0.5,
  secondsPerRun: 36,
  timeShare: 0.25,
  finished: 8,
  asked: 8,
  ...(vs && { vsHeadline: vs }),
});

describe("jobs/benchmark/markdown", () => {
  it("the paired difference to the headline: bold where its interval excludes 0, '-' for the headline", () => {
    const vs = (delta: number, low: number, high: number, verdict: "above" | "below" | "not separated") => ({
      method: "default",
      F: 0.15,
      delta,
      low,
      high,
      verdict,
    });
    const r: BenchmarkResults = {
      suite: "s",
      N: 8,
      S: 500,
      retrained: { finished: 16, asked: 16, RA: 100, TA: 88, FA: 88, mia: 0.5, secondsPerRun: 130 },
      original: null,
      ideal: null,
      methods: [
        method("default", "main", 0.15),
        method("k9", "sweep", 0.16, vs(0.01, 0.002, 0.018, "above")),
        method("k3", "sweep", 0.149, vs(-0.001, -0.009, 0.007, "not separated")),
        method("ft", "main", 0.02, vs(-0.13, -0.14, -0.12, "below")),
      ],
      environment: {} as BenchmarkResults["environment"],
      date: "2026-12-01",
    };
    const md = resultsMarkdown(r);
    expect(md).to.include("| method | N | F [95% bootstrap] | F - F(default) [95% paired] | final score |");
    expect(md).to.include("| default | 8 | 0.1500 [0.1400, 0.1600] | - | 0.1500 |");
    expect(md).to.include("| ft | 8 | 0.0200 [0.0100, 0.0300] | **-0.1300 [-0.1400, -0.1200]** | 0.0200 |");
    expect(md).to.include("| k9 | 8 | 0.1600 [0.1500, 0.1700] | **+0.0100 [+0.0020, +0.0180]** | 0.1600 |");
    expect(md).to.include("| k3 | 8 | 0.1490 [0.1390, 0.1590] | -0.0010 [-0.0090, +0.0070] | 0.1490 |");
  });
});
