/**
 * The manifest of a run folder: how its model was made. It is written last, so a folder with a readable
 * manifest of this format is complete; anything else is a run to redo.
 */
import type { RunEnvironment } from "./environment.js";
import { manifestProblem } from "./manifest-check.js";

export const RUN_FORMAT = "onnx-unlearn-run/1";

export interface EpochRecord {
  /** "train", "finetune", "neggrad", or "cycle <c>" for the method's remembering phases. */
  phase: string;
  epoch: number;
  meanLoss: number;
  seconds: number;
  images: number;
  /** Validation accuracy and mean loss after the epoch, when the data has a validation split. */
  validation?: { accuracy: number; loss: number };
  /** Batches skipped for a non-finite loss, update or input (`--on-nan skip`); absent when none. */
  skipped?: number;
}

export interface RunManifest {
  format: typeof RUN_FORMAT;
  kind: "train" | "unlearn";
  /** "train", or the unlearning method: "stochastic", "finetune", "neggrad". */
  method: string;
  /** This run's place in its group (`--runs N`), its run seed, and the forget-draw seed when a forget set was drawn. */
  run: { index: number; of: number; seed: number; forgetSeed?: number };
  /** The model it started from: a file (with its sha256) or a zoo spec. */
  input: { model?: string; sha256?: string; zoo?: string };
  output: { model: string; sha256: string };
  /** The data source and its identity (datasetIdentity in src/data/identity.ts). */
  data: Record<string, unknown>;
  retain: { count: number; idsSha256: string };
  /** The forget set when it is known (given by a spec); absent for --retain-only sources. */
  forget?: { spec: string; count: number; idsSha256: string };
  /** True only for methods that read forget examples (neggrad). */
  readsForget: boolean;
  /** Every option of the run, resolved (defaults filled in). */
  config: Record<string, unknown>;
  /** The stochastic method: the layers drawn and re-initialised in each cycle. */
  reinitialised?: { cycle: number; draws: string[]; layers: string[] }[];
  epochs: EpochRecord[];
  /** Wall time per phase, seconds. */
  seconds: Record<string, number>;
  executionProvider: string;
  threads?: number;
  environment: RunEnvironment;
  /** ISO time the run finished. */
  finished: string;
  /** Where the run continued from a checkpoint after an interruption, once per resumption (absent: made in one go). */
  resumed?: { epoch: number; step: number; stepCount: number }[];
  notes?: string[];
}

/** The manifest fields that say what a run is (not how long it took or where): equal for the same request. */
export function requestOf(
  m: Pick<RunManifest, "kind" | "method" | "run" | "input" | "data" | "retain" | "forget" | "config">,
) {
  return {
    kind: m.kind,
    method: m.method,
    seed: m.run.seed,
    forgetSeed: m.run.forgetSeed,
    input: m.input.sha256 ?? m.input.zoo,
    data: m.data,
    retain: m.retain.idsSha256,
    forget: m.forget?.idsSha256,
    config: m.config,
  };
}

/** A complete manifest of this format, every field its readers use of the right type (manifest-check.ts). */
export function isManifest(v: unknown): v is RunManifest {
  return manifestProblem(v) === undefined;
}
