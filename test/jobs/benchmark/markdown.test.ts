import { expect } from "chai";
import { resultsMarkdown } from "../../../src/jobs/benchmark/markdown.js";
import type { BenchmarkResults, MethodResult, Versus } from "../../../src/jobs/benchmark/score.js";

const method = (name: string, group: string, F: number, vs?: MethodResult["vsHeadline"]): MethodResult => ({
  method: name,
  label: name,
  group,
  runs: 8,
  S: 500,
  F,
  F_low: F - 0.01,
  F_high: F + 0.01,
  final: F / 2,
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

const versus = (delta: number, low: number, high: number, verdict: Versus["verdict"]): Versus => ({
  headline: 0.15,
  delta,
  low,
  high,
  verdict,
});

describe("jobs/benchmark/markdown", () => {
  it("the paired differences to the headline: bold where the interval excludes 0, '-' for the headline", () => {
    const r: BenchmarkResults = {
      suite: "s",
      N: 8,
      S: 500,
      retrained: { finished: 16, asked: 16, RA: 100, TA: 88, FA: 88, mia: 0.5, secondsPerRun: 130 },
      original: null,
      ideal: null,
      methods: [
        method("default", "main", 0.15),
        method("k9", "sweep", 0.16, {
          method: "default",
          forget: versus(0.01, 0.002, 0.018, "above"),
          final: versus(0.001, -0.004, 0.006, "not separated"),
        }),
        method("ft", "main", 0.02, {
          method: "default",
          forget: versus(-0.13, -0.14, -0.12, "below"),
          final: versus(-0.06, -0.07, -0.05, "below"),
        }),
      ],
      environment: {} as BenchmarkResults["environment"],
      date: "2026-12-01",
    };
    const md = resultsMarkdown(r);
    expect(md).to.include(
      "| method | N | F [95% bootstrap] | F - default's [95% paired] | final score | final - default's [95% paired] | RA % |",
    );
    expect(md).to.include("| default | 8 | 0.1500 [0.1400, 0.1600] | - | 0.0750 | - | 95.00 |");
    expect(md).to.include(
      "| ft | 8 | 0.0200 [0.0100, 0.0300] | **-0.1300 [-0.1400, -0.1200]** | 0.0100 | **-0.0600 [-0.0700, -0.0500]** |",
    );
    expect(md).to.include(
      "| k9 | 8 | 0.1600 [0.1500, 0.1700] | **+0.0100 [+0.0020, +0.0180]** | 0.0800 | +0.0010 [-0.0040, +0.0060] |",
    );
  });
});
