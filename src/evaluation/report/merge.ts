/** Several ReportInputs (one per file) as one report: models concatenated, one score, facts combined. */
import { UserError } from "../../errors.js";
import { FACTS_THAT_MUST_AGREE, FACT_LABELS, type ReportFacts, type ReportInput } from "./types.js";

export interface SourcedInput {
  input: ReportInput;
  /** The file (or run folder) it came from, named in errors. */
  source: string;
}

/**
 * The title and logits label come from the first input that has them. A model name used twice, two scores,
 * or two different data sources / forget sets / original models are errors naming both sources; other facts
 * that differ (commit, host, date) are listed side by side.
 */
export function mergeReportInputs(inputs: SourcedInput[]): ReportInput {
  if (inputs.length === 0) throw new UserError("no report inputs given");
  if (inputs.length === 1) return inputs[0]!.input;
  const first = inputs[0]!.input;
  const merged: ReportInput = { title: first.title, models: [] };
  const label = inputs.find((i) => i.input.logitsLabel !== undefined)?.input.logitsLabel;
  if (label !== undefined) merged.logitsLabel = label;

  const modelSource = new Map<string, string>();
  let scoreSource: string | undefined;
  const factSource: Partial<Record<keyof ReportFacts, string>> = {};
  const facts: ReportFacts = {};
  for (const { input, source } of inputs) {
    for (const m of input.models) {
      const earlier = modelSource.get(m.name);
      if (earlier !== undefined) throw new UserError(`model '${m.name}' is also in ${earlier}`, source);
      modelSource.set(m.name, source);
      merged.models.push(m);
    }
    if (input.score) {
      if (scoreSource !== undefined) throw new UserError(`a second score (the first is in ${scoreSource})`, source);
      scoreSource = source;
      merged.score = input.score;
    }
    for (const [k, v] of Object.entries(input.facts ?? {}) as [keyof ReportFacts, string][]) {
      const have = facts[k];
      if (have === undefined) {
        facts[k] = v;
        factSource[k] = source;
      } else if (have !== v && !have.split("; ").includes(v)) {
        if (FACTS_THAT_MUST_AGREE.includes(k))
          throw new UserError(`${FACT_LABELS[k]} '${v}' differs from '${have}' in ${factSource[k]}`, source);
        facts[k] = `${have}; ${v}`;
      }
    }
  }
  if (Object.keys(facts).length) merged.facts = facts;
  return merged;
}
