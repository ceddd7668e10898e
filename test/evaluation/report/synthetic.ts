/** A deterministic synthetic ReportInput shaped like the paper's comparison: original, fine-tune, ours, retrained. */
import { rngFor } from "../../../src/data/random.js";
import type { ReportInput, ReportModel } from "../../../src/evaluation/report/index.js";

function normals(seed: string, n: number, mean: number, sd: number): number[] {
  const rng = rngFor(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = 1 - rng();
    out.push(mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng()));
  }
  return out;
}

function model(
  name: string,
  role: ReportModel["role"],
  forget: [number, number],
  retain: [number, number],
  rest: Partial<ReportModel>,
): ReportModel {
  return {
    name,
    role,
    runs: 4,
    logits: { forget: normals(`${name}/forget`, 1200, ...forget), retain: normals(`${name}/retain`, 4000, ...retain) },
    accuracy: {},
    ...rest,
  };
}

export function syntheticReportInput(): ReportInput {
  const eps = normals("eps", 250, 1.6, 1).map((e) => Math.abs(e));
  for (let i = 0; i < 12; i++) eps[i * 20] = 50;
  return {
    title: "Synthetic report: <original> & friends",
    logitsLabel: "true-class logit",
    models: [
      model("original", "original", [7, 1.5], [7.2, 1.4], {
        accuracy: { retain: 93.1, forget: 92, validation: 89.5, test: 89.3 },
        mia: 0.62,
        secondsPerRun: 310,
      }),
      model("fine-tune", "baseline", [6.2, 1.6], [6.8, 1.5], {
        accuracy: { retain: 91, forget: 89.4, test: 88.1 },
        mia: 0.58,
        secondsPerRun: 41.5,
      }),
      model("ours", "unlearned", [4.4, 2], [6.6, 1.6], {
        accuracy: { retain: 87.8, forget: 85, validation: 86.7, test: 86.5 },
        mia: 0.51,
        secondsPerRun: 36.2,
      }),
      model("retrained", "retrained", [4.1, 2.1], [7.1, 1.4], {
        accuracy: { retain: 92.6, forget: 86.3, validation: 88.4, test: 88.2 },
        mia: 0.5,
        secondsPerRun: 290,
      }),
    ],
    score: {
      model: "ours",
      forgetScore: 0.1534,
      forgetScoreLow: 0.139,
      forgetScoreHigh: 0.168,
      finalScore: 0.1402,
      n: 32,
      s: eps.length,
      epsilons: eps,
    },
    facts: {
      dataSource: "fashion-mnist",
      forgetIdsHash: "sha256:3f2a…",
      originalModelHash: "sha256:9bc1…",
      commit: "4ff1bb6",
      host: "ci-runner",
      date: "2026-11-29T19:00:00Z",
    },
  };
}
