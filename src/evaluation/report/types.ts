/**
 * What the HTML report is drawn from: plain, JSON-able data, so that any step (eval, score, a run folder, a
 * script) can write it and `onnx-unlearn report` can read it back. Accuracies are percentages, MIA accuracy
 * and scores are fractions, times are seconds.
 */

export const MODEL_ROLES = ["original", "retrained", "unlearned", "baseline"] as const;
/** original: the model trained on everything; retrained: trained without the forget set (the reference);
 *  unlearned: the method; baseline: another unlearning method to compare with (e.g. fine-tuning). */
export type ModelRole = (typeof MODEL_ROLES)[number];

export const SPLITS = ["retain", "forget", "validation", "test"] as const;
export type Split = (typeof SPLITS)[number];

export interface ReportModel {
  /** Label in the figures and tables, unique within a report: "original", "fine-tune", "ours", "retrained". */
  name: string;
  role: ModelRole;
  /** How many runs (seeds) the numbers summarise. */
  runs: number;
  /** Logit samples for the qualitative figure, pooled over runs (e.g. each example's true-class logit, or all
   *  logits flattened: say which in ReportInput.logitsLabel). Omitted: the model is left out of that figure. */
  logits?: { forget: number[]; retain: number[] };
  /** Accuracy per split, percent, mean over the runs; a split that was not measured is left out. */
  accuracy: Partial<Record<Split, number>>;
  /** Membership-inference accuracy (forget vs test, 0.5 = nothing to detect), mean over the runs. */
  mia?: number;
  /** Wall-clock seconds for one run of training or unlearning. */
  secondsPerRun?: number;
}

/** The challenge score (docs in ../shared/reference/neurips2023-metric.md): F with a bootstrap interval. */
export interface ReportScore {
  /** The unlearned model (ReportModel.name) scored against the retrained ones, when the report has several. */
  model?: string;
  /** Forgetting quality F. */
  forgetScore: number;
  /** Bootstrap interval of F over forget examples (e.g. 2.5% and 97.5% quantiles). */
  forgetScoreLow: number;
  forgetScoreHigh: number;
  /** F x (RA_U / RA_R) x (TA_U / TA_R). */
  finalScore: number;
  /** Runs per model (unlearned and retrained), and forget examples. */
  n: number;
  s: number;
  /** Per-example epsilon, length s, in [0, 50]. */
  epsilons: number[];
}

/** Key facts from the runs' manifests; every field optional. */
export interface ReportFacts {
  dataSource?: string;
  forgetIdsHash?: string;
  originalModelHash?: string;
  commit?: string;
  host?: string;
  date?: string;
}

export interface ReportInput {
  title: string;
  /** What the logit samples are, for the figure's axis: default "logit". */
  logitsLabel?: string;
  models: ReportModel[];
  score?: ReportScore;
  facts?: ReportFacts;
}

export const FACT_LABELS: Record<keyof ReportFacts, string> = {
  dataSource: "data source",
  forgetIdsHash: "forget ids (hash)",
  originalModelHash: "original model (hash)",
  commit: "commit",
  host: "host",
  date: "date",
};

/** Facts that must agree between merged inputs: a report mixing two forget sets would compare apples and pears. */
export const FACTS_THAT_MUST_AGREE: (keyof ReportFacts)[] = ["dataSource", "forgetIdsHash", "originalModelHash"];
