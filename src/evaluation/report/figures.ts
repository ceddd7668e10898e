/**
 * The report's figures as vega-lite specs, compiled by vega-lite and rendered to SVG by vega in Node (renderer
 * 'none': no canvas, no DOM, no network; the data are inline values).
 */
import { parse, View } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { ModelRole, ReportInput, ReportModel, ReportScore } from "./types.js";

export interface Figure {
  /** File-name-safe key: "logits", "accuracy", "epsilons". */
  key: string;
  title: string;
  caption: string;
  spec: TopLevelSpec;
}

/** Colours by role, so that "retrained" looks the same in every report; later models of a role take the next shade. */
const ROLE_COLOURS: Record<ModelRole, string[]> = {
  original: ["#7f7f7f", "#bcbd22", "#525252"],
  retrained: ["#2ca02c", "#17becf", "#98df8a"],
  unlearned: ["#d62728", "#ff7f0e", "#e377c2"],
  baseline: ["#1f77b4", "#9467bd", "#8c564b"],
};

function colourScale(models: ReportModel[]): { domain: string[]; range: string[] } {
  const used: Partial<Record<ModelRole, number>> = {};
  const range = models.map((m) => {
    const i = used[m.role] ?? 0;
    used[m.role] = i + 1;
    const shades = ROLE_COLOURS[m.role];
    return shades[i % shades.length]!;
  });
  return { domain: models.map((m) => m.name), range };
}

const CONFIG = {
  font: "sans-serif",
  view: { stroke: "#ccc" },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  header: { labelFontSize: 13, labelFontWeight: "bold" },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 400 },
} as const;

/** The paper's qualitative figure: each model's logit histogram, overlaid, on the forget set and on the retain set. */
export function logitsFigure(input: ReportInput): Figure | undefined {
  const models = input.models.filter((m) => m.logits && (m.logits.forget.length || m.logits.retain.length));
  if (!models.length) return undefined;
  const values: { model: string; set: string; value: number }[] = [];
  for (const m of models)
    for (const set of ["forget", "retain"] as const)
      for (const value of m.logits![set]) values.push({ model: m.name, set: `${set} set`, value });
  const label = input.logitsLabel ?? "logit";
  return {
    key: "logits",
    title: "Logits on the forget set and on the retain set",
    caption:
      `Histogram of each model's ${label} (share of its samples per bin, overlaid), on the forget set (left) and ` +
      "the retain set (right). Unlearning has worked where the unlearned model's forget-set histogram lies on the " +
      "retrained one's while its retain-set histogram stays on the original's.",
    spec: {
      data: { values },
      transform: [
        { bin: { maxbins: 50 }, field: "value", as: ["bin0", "bin1"] },
        { aggregate: [{ op: "count", as: "count" }], groupby: ["model", "set", "bin0", "bin1"] },
        { joinaggregate: [{ op: "sum", field: "count", as: "total" }], groupby: ["model", "set"] },
        { calculate: "datum.count / datum.total", as: "share" },
        { calculate: "(datum.bin0 + datum.bin1) / 2", as: "centre" },
      ],
      facet: { column: { field: "set", type: "nominal", title: null, sort: ["forget set", "retain set"] } },
      spec: {
        width: 380,
        height: 240,
        encoding: {
          x: { field: "centre", type: "quantitative", title: label },
          y: {
            field: "share",
            type: "quantitative",
            stack: null,
            impute: { value: 0 },
            title: "share of samples",
            axis: { format: ".0%" },
          },
          color: {
            field: "model",
            type: "nominal",
            scale: colourScale(models),
            title: "model",
            legend: { symbolType: "stroke", symbolStrokeWidth: 2.5, symbolOpacity: 1 },
          },
        },
        layer: [
          { mark: { type: "area", interpolate: "step", opacity: 0.12 } },
          { mark: { type: "line", interpolate: "step", strokeWidth: 1.8 } },
        ],
      },
      resolve: { axis: { y: "independent" } },
      config: CONFIG,
    },
  };
}

/** Accuracy per split, one bar per model. */
export function accuracyFigure(input: ReportInput): Figure | undefined {
  const values = input.models.flatMap((m) =>
    Object.entries(m.accuracy).map(([split, accuracy]) => ({ model: m.name, split, accuracy })),
  );
  if (!values.length) return undefined;
  const splits = ["retain", "forget", "validation", "test"].filter((s) => values.some((v) => v.split === s));
  return {
    key: "accuracy",
    title: "Accuracy per split",
    caption: "Accuracy of each model on each split (mean over its runs), in percent.",
    spec: {
      data: { values },
      width: { step: 22, for: "offset" },
      height: 240,
      mark: { type: "bar" },
      encoding: {
        x: { field: "split", type: "nominal", sort: splits, title: null, axis: { labelAngle: 0 } },
        xOffset: { field: "model", type: "nominal", sort: input.models.map((m) => m.name) },
        y: { field: "accuracy", type: "quantitative", title: "accuracy (%)", scale: { domain: [0, 100] } },
        color: { field: "model", type: "nominal", scale: colourScale(input.models), title: "model" },
      },
      config: CONFIG,
    } as TopLevelSpec,
  };
}

/** The largest epsilon that still earns points: ceil(ln(N - 1)). */
export function epsilonCeiling(n: number): number {
  return Math.ceil(Math.log(n - 1));
}

/** The per-example epsilons in the score's 0.5-wide buckets; those at or past ceil(ln(N-1)) earn nothing. */
export function epsilonFigure(score: ReportScore): Figure {
  const top = epsilonCeiling(score.n);
  const scoring = "earns 2^-k points (bucket k)";
  const nothing = `earns 0 (ε ≥ ${top}; shown at ${top})`;
  const values = score.epsilons.map((e) => ({ eps: Math.min(e, top), points: e < top ? scoring : nothing }));
  return {
    key: "epsilons",
    title: "Per-example epsilon",
    caption:
      `The ε of each of the ${score.s} forget examples, in the score's buckets of width 0.5 (N = ${score.n} runs per ` +
      `model: ε ≥ ceil(ln(N − 1)) = ${top} earns no points). Small ε: the unlearned and retrained models cannot be ` +
      "told apart on that example.",
    spec: {
      data: { values },
      width: 480,
      height: 220,
      mark: { type: "bar", binSpacing: 1 },
      encoding: {
        x: { field: "eps", type: "quantitative", bin: { step: 0.5, extent: [0, top + 0.5] }, title: "ε" },
        y: { aggregate: "count", type: "quantitative", title: "forget examples" },
        color: {
          field: "points",
          type: "nominal",
          scale: { domain: [scoring, nothing], range: ["#4c78a8", "#e45756"] },
          title: null,
          legend: { orient: "top" },
        },
      },
      config: CONFIG,
    } as TopLevelSpec,
  };
}

export function reportFigures(input: ReportInput): Figure[] {
  const figures = [logitsFigure(input), accuracyFigure(input), input.score && epsilonFigure(input.score)];
  return figures.filter((f): f is Figure => f !== undefined);
}

/** One vega-lite spec as a standalone SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
