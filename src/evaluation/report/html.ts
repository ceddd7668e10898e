/** The report page: one HTML file with inline CSS and inline SVG; no script, no external resource. */
import { FACT_LABELS, SPLITS, type ReportFacts, type ReportInput, type ReportScore } from "./types.js";

export interface RenderedFigure {
  key: string;
  title: string;
  caption: string;
  svg: string;
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

const DASH = "–";
const fixed = (x: number | undefined, digits: number, unit = "") =>
  x === undefined ? DASH : `${x.toFixed(digits)}${unit}`;

function duration(seconds: number | undefined): string {
  if (seconds === undefined) return DASH;
  if (seconds < 120) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(2)} h`;
}

const STYLE = `
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { padding: 0.3em 0.8em; border-bottom: 1px solid #e4e4e4; text-align: right; }
th.text, td.text { text-align: left; }
thead th { border-bottom: 2px solid #999; }
figure { margin: 1em 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.9em; color: #444; max-width: 60em; }
.score { font-size: 1.1em; }
.note { color: #666; font-size: 0.9em; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1.2em; }
dt { color: #555; }
dd { margin: 0; font-family: monospace; word-break: break-all; }
`;

function scoreSection(score: ReportScore | undefined): string {
  if (!score)
    return `<h2>Challenge score</h2>\n<p class="note">No score in the inputs (it needs N unlearned and N retrained runs: <code>onnx-unlearn score</code>).</p>`;
  const of = score.model ? ` of <strong>${escapeHtml(score.model)}</strong>` : "";
  return [
    "<h2>Challenge score</h2>",
    `<p class="score" id="score">Forgetting quality${of}: <strong>F = ${score.forgetScore.toFixed(4)}</strong> ` +
      `(bootstrap interval over forget examples ${score.forgetScoreLow.toFixed(4)} – ${score.forgetScoreHigh.toFixed(4)}); ` +
      `final score F × (RA<sub>U</sub>/RA<sub>R</sub>) × (TA<sub>U</sub>/TA<sub>R</sub>) = <strong>${score.finalScore.toFixed(4)}</strong>.</p>`,
    `<p>N = ${score.n} runs per model (unlearned and retrained), S = ${score.s} forget examples.</p>`,
  ].join("\n");
}

function modelTable(input: ReportInput): string {
  const reference = input.models.find((m) => m.role === "retrained" && m.secondsPerRun)?.secondsPerRun;
  const splits = SPLITS.filter((s) => input.models.some((m) => m.accuracy[s] !== undefined));
  const head = [
    "model",
    "role",
    "runs",
    ...splits.map((s) => `${s} acc.`),
    "MIA acc.",
    "time per run",
    ...(reference ? ["time / retraining"] : []),
  ];
  const rows = input.models.map((m) => [
    `<td class="text">${escapeHtml(m.name)}</td>`,
    `<td class="text">${m.role}</td>`,
    `<td>${m.runs}</td>`,
    ...splits.map((s) => `<td>${fixed(m.accuracy[s], 2, "%")}</td>`),
    `<td>${fixed(m.mia, 3)}</td>`,
    `<td>${duration(m.secondsPerRun)}</td>`,
    ...(reference
      ? [`<td>${m.secondsPerRun === undefined ? DASH : fixed((100 * m.secondsPerRun) / reference, 1, "%")}</td>`]
      : []),
  ]);
  return [
    "<h2>Accuracy, membership inference, time</h2>",
    '<table id="models">',
    `<thead><tr>${head.map((h, i) => `<th${i < 2 ? ' class="text"' : ""}>${h}</th>`).join("")}</tr></thead>`,
    `<tbody>\n${rows.map((r) => `<tr>${r.join("")}</tr>`).join("\n")}\n</tbody>`,
    "</table>",
    '<p class="note">Accuracy and MIA accuracy are means over the runs. MIA: a logistic regression on per-example ' +
      "losses telling forget from test examples; 0.5 means it cannot tell them apart.</p>",
  ].join("\n");
}

function factsSection(facts: ReportFacts | undefined): string {
  const entries = Object.entries(facts ?? {}) as [keyof ReportFacts, string][];
  if (!entries.length) return "";
  const items = entries.map(([k, v]) => `<dt>${FACT_LABELS[k]}</dt><dd>${escapeHtml(v)}</dd>`);
  return ["<h2>Runs</h2>", '<dl id="facts">', ...items, "</dl>"].join("\n");
}

function figureBlock(f: RenderedFigure, n: number): string {
  return [
    `<figure class="chart" id="fig-${f.key}">`,
    f.svg,
    `<figcaption><strong>Figure ${n}. ${escapeHtml(f.title)}.</strong> ${escapeHtml(f.caption)}</figcaption>`,
    "</figure>",
  ].join("\n");
}

export function reportHtml(input: ReportInput, figures: RenderedFigure[]): string {
  const fig = (key: string) => {
    const i = figures.findIndex((f) => f.key === key);
    return i < 0 ? "" : figureBlock(figures[i]!, i + 1);
  };
  const roles = input.models.map((m) => `${escapeHtml(m.name)} (${m.role}, ${m.runs} run${m.runs === 1 ? "" : "s"})`);
  return [
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(input.title)}</title>`,
    `<style>${STYLE}</style>`,
    "</head>",
    "<body>",
    `<h1>${escapeHtml(input.title)}</h1>`,
    `<p class="note">Models: ${roles.join(", ") || "none"}.</p>`,
    scoreSection(input.score),
    "<h2>Logits on the forget and retain sets</h2>",
    fig("logits") || '<p class="note">No logit samples in the inputs.</p>',
    modelTable(input),
    fig("accuracy"),
    input.score ? "<h2>Per-example epsilon</h2>" : "",
    fig("epsilons"),
    factsSection(input.facts),
    "</body>",
    "</html>",
    "",
  ]
    .filter((s) => s !== "")
    .join("\n");
}
