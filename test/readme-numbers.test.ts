/**
 * The README's measured numbers are what docs/results/*.json say (scripts/readme-numbers.ts regenerates them): a
 * rerun that changes the results without `npm run readme-numbers` fails here instead of leaving the README stale.
 */
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { SUITES } from "../src/jobs/benchmark/suites.js";
import {
  quickstartSection,
  README,
  regenerated,
  resultsSection,
  withSections,
  type BenchmarkResults,
  type QuickstartNumbers,
} from "../scripts/readme-numbers.js";

describe("README numbers (npm run readme-numbers)", () => {
  it("the README's marked sections are regenerated from docs/results/*.json", () => {
    const readme = readFileSync(README, "utf8");
    expect(regenerated(readme) === readme, "README.md is stale: run npm run readme-numbers").to.equal(true);
  });

  it("a changed result changes the section, and only it", () => {
    const method = (name: string, F: number, group = "main") => ({
      method: name,
      label: `label of ${name}`,
      group,
      F,
      F_low: F - 0.01,
      F_high: F + 0.01,
      final: F,
      RA: 90,
      TA: 88,
    });
    const results: BenchmarkResults = {
      suite: "fmnist-5k",
      N: 4,
      S: 100,
      date: "2030-01-02T03:04:05Z",
      environment: { host: { cpus: 8 } },
      ideal: { ...method("ideal", 0.2, "ideal"), RA: 100 },
      methods: [
        method(SUITES["fmnist-5k"]!.headline, 0.15),
        method("finetune-5ep", 0.06),
        method("neggrad", 0.03),
        method("abl-1-finetune", 0.05, "ablation"),
      ],
    };
    const text = resultsSection(results);
    expect(text).to.match(/^2030-01-02, this 8-core machine, N = 4 runs per side, S = 100 forget examples/);
    const head = SUITES["fmnist-5k"]!.headline;
    expect(text).to.include(`| **label of ${head}** | **0.150 [0.140, 0.160]** | 0.150 | 90.0 | 88.0 |`);
    expect(text).to.include("| label of ideal | 0.200 [0.190, 0.210] | 0.200 | 100.0 | 88.0 |");
    expect(text).to.include("| label of neggrad | 0.030 [0.020, 0.040] | 0.030 | 90.0 | 88.0 |");
    expect(text).to.not.include("abl-1-finetune"); // the ablation stays in docs/RESULTS.md
    expect(text.replaceAll("\n", " ")).to.include(
      "(here 2.5x); it keeps less of the retain set than the retrained models (90% vs 100%)",
    );
    const quick: QuickstartNumbers = {
      rows: [
        { name: "original", retain: 1, forget: 1, test: 0.8852, mia: 0.599 },
        { name: "unlearned", retain: 0.888, forget: 0.864, test: 0.8578, mia: 0.484 },
      ],
      seconds: 76.4,
      finished: "2030-01-02T03:04:05Z",
      load: 5.2,
      environment: { host: { cpus: 2 } },
    };
    expect(quickstartSection(quick).replaceAll("\n", " ")).to.equal(
      "1 min 16 s on the 2-core development machine (2030-01-02, load average 5), with original / unlearned retain " +
        "100.00 / 88.80%, forget 100.00 / 86.40%, test 88.52 / 85.78% and MIA 0.599 / 0.484.",
    );
    const doc = "a\n<!-- numbers:results -->\nold\n<!-- /numbers:results -->\nb\n";
    expect(withSections(doc, { results: "new" })).to.equal(
      "a\n<!-- numbers:results -->\nnew\n<!-- /numbers:results -->\nb\n",
    );
    expect(() => withSections("no markers", { results: "x" })).to.throw(/no <!-- numbers:results -->/);
  });
});
