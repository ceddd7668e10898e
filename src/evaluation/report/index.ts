/** The HTML report of an unlearning experiment: `renderReport(input)`; inputs read by `loadReportInputs(paths)`. */
import { reportFigures, renderSvg } from "./figures.js";
import { reportHtml, type RenderedFigure } from "./html.js";
import type { ReportInput } from "./types.js";

export * from "./types.js";
export { validateReportInput } from "./validate.js";
export { mergeReportInputs, type SourcedInput } from "./merge.js";
export { loadReportInputs } from "./load.js";
export { writeReport, type WriteReportOptions } from "./write.js";

export interface RenderedReport {
  /** The self-contained page. */
  html: string;
  /** Each figure as a standalone SVG document, by key ("logits", "accuracy", "epsilons"), in page order. */
  svgs: Record<string, string>;
}

/** Draws the figures (vega-lite, rendered to SVG in Node) and lays out the page. Deterministic for a given input. */
export async function renderReport(input: ReportInput): Promise<RenderedReport> {
  const figures: RenderedFigure[] = [];
  for (const f of reportFigures(input))
    figures.push({ key: f.key, title: f.title, caption: f.caption, svg: await renderSvg(f.spec) });
  return { html: reportHtml(input, figures), svgs: Object.fromEntries(figures.map((f) => [f.key, f.svg])) };
}
