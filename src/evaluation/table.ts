import type { Evaluation } from "./accuracy.js";

/** Scores of several models (columns) on several splits (rows). */
export type ScoreSheet = Record<string, Record<string, Evaluation>>;

/** A plain-text table of accuracies: one row per split, one column per model. */
export function accuracyTable(sheet: ScoreSheet): string {
  const models = Object.keys(sheet);
  const splits = [...new Set(models.flatMap((m) => Object.keys(sheet[m]!)))];
  const cell = (e: Evaluation | undefined) => (e ? `${(100 * e.accuracy).toFixed(2)}%` : "-").padStart(10);
  const head = ["split".padEnd(8), "examples".padStart(8), ...models.map((m) => m.padStart(10))].join(" ");
  const rows = splits.map((s) =>
    [
      s.padEnd(8),
      String(sheet[models[0]!]![s]?.count ?? "-").padStart(8),
      ...models.map((m) => cell(sheet[m]![s])),
    ].join(" "),
  );
  return [head, ...rows].join("\n") + "\n";
}
