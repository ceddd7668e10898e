/**
 * The evaluation of one model over a data set and a forget set: accuracy, mean loss and per-class accuracy on
 * retain, forget, validation and test; the starting kit's membership-inference attack (forget vs test); the
 * per-example logit-scaled confidences of the forget set and the logits the report's histograms need. This is
 * the explicit scoring step: unlike the unlearning methods, it reads the forget set.
 */
import {
  checkAgainstModel,
  splitTrain,
  type Dataset,
  type Examples,
  type ForgetSet,
  type Normalisation,
  type Seed,
} from "../data/index.js";
import { rngFor, shuffleInPlace, type Rng } from "../data/random.js";
import { displayName, type ModelFile } from "../onnx/model-io.js";
import { layerInventory } from "../onnx/layers.js";
import { InferenceModel, type InferenceOptions } from "../training/inference.js";
import { membershipInference, miaMinimumPerSide, type MiaResult } from "./mia.js";
import { evaluatePerExample, summarise, type PerExample, type SplitSummary } from "./per-example.js";

export const EVAL_SPLITS = ["retain", "forget", "validation", "test"] as const;
export type EvalSplit = (typeof EVAL_SPLITS)[number];

export interface EvalModelOptions extends InferenceOptions {
  model: ModelFile;
  dataset: Dataset;
  forget: ForgetSet;
  normalisation?: Normalisation;
  /** Default 256. */
  batchSize?: number;
  /** Seeds the MIA's balancing and splits and the retain logit sample. Default 0. */
  seed?: Seed;
  /** Retain examples whose logits are kept (a seeded sample), default 1000. */
  retainLogits?: number;
  /** MIA stratified shuffle splits (default 10) and held-out fraction (default 0.1). */
  miaSplits?: number;
  miaTestFraction?: number;
  /** Called before each split is evaluated. */
  onSplit?: (split: EvalSplit, count: number) => void;
}

/** Logits of some examples, ascending id order; `logits[i]` has one value per class. */
export interface LogitSample {
  ids: number[];
  labels: number[];
  logits: number[][];
}

export interface ModelEvaluation {
  /** Logits per example (the model's output width). */
  numClasses: number;
  classNames: string[];
  /** The non-empty splits. */
  splits: Partial<Record<EvalSplit, SplitSummary>>;
  /** The attack; null when it could not run (see miaSkipped). */
  mia: MiaResult | null;
  miaSkipped?: string;
  /** Every forget example, ascending id order (the forget set's ids order). */
  forget: LogitSample & { confidences: number[]; losses: number[] };
  /** The seeded sample of the retain set, ascending id order. */
  retainSample: LogitSample;
  /** Wall time of the evaluation. */
  seconds: number;
}

export async function evaluateModel(o: EvalModelOptions): Promise<ModelEvaluation> {
  const started = performance.now();
  const { dataset, forget } = o;
  checkModelFitsData(o.model, dataset);
  const { retain } = splitTrain(dataset, forget);
  // the forget set in ascending id order, whatever the train split's order
  const forgetPositions = Int32Array.from(forget.positions).sort(
    (a, b) => dataset.train.ids[a]! - dataset.train.ids[b]!,
  );
  const sets: Record<EvalSplit, Examples> = {
    retain,
    forget: dataset.train.select(forgetPositions),
    validation: dataset.validation,
    test: dataset.test,
  };
  const retainKept = samplePositions(retain, o.retainLogits ?? 1000, rngFor(o.seed ?? 0, "eval", "retain logits"));
  const model = await InferenceModel.create(o.model, o);
  const results: Partial<Record<EvalSplit, PerExample>> = {};
  try {
    for (const split of EVAL_SPLITS) {
      const examples = sets[split];
      if (examples.count === 0) continue;
      o.onSplit?.(split, examples.count);
      results[split] = await evaluatePerExample((b) => model.run(b), examples, {
        normalisation: o.normalisation,
        batchSize: o.batchSize,
        keepLogits: split === "forget" ? "all" : split === "retain" ? retainKept : undefined,
        subject: `${displayName(o.model)} on the ${split} set`,
      });
    }
  } finally {
    await model.release();
  }
  const splits: Partial<Record<EvalSplit, SplitSummary>> = {};
  for (const split of EVAL_SPLITS) {
    const r = results[split];
    if (r) splits[split] = summarise(r, dataset.numClasses);
  }
  const f = results.forget!;
  const testCount = results.test?.count ?? 0;
  let mia: MiaResult | null = null;
  let miaSkipped: string | undefined;
  const minimum = miaMinimumPerSide(o.miaTestFraction);
  if (Math.min(f.count, testCount) < minimum) {
    miaSkipped = `needs at least ${minimum} forget and ${minimum} test examples, has ${f.count} and ${testCount}`;
  } else {
    mia = membershipInference(f.loss, results.test!.loss, {
      seed: o.seed ?? 0,
      splits: o.miaSplits,
      testFraction: o.miaTestFraction,
    });
  }
  return {
    numClasses: f.numClasses,
    classNames: dataset.classNames,
    splits,
    mia,
    ...(miaSkipped === undefined ? {} : { miaSkipped }),
    forget: { ...logitSample(f), confidences: Array.from(f.confidence), losses: Array.from(f.loss) },
    retainSample: results.retain ? logitSample(results.retain) : { ids: [], labels: [], logits: [] },
    seconds: (performance.now() - started) / 1000,
  };
}

/** The images must fit the model's input and the labels its classes: one UserError listing every mismatch. */
function checkModelFitsData(model: ModelFile, dataset: Dataset): void {
  const inventory = layerInventory(model);
  const [input] = inventory.inputs;
  const k = inventory.outputs[0]?.dims?.at(-1);
  checkAgainstModel(dataset.all, {
    inputDims: input?.dims ?? [],
    numClasses: typeof k === "number" && k > 0 ? k : undefined,
    model: `${model.file} (input '${input?.name}')`,
    data: dataset.spec,
  });
}

/** Ascending positions of `count` examples drawn at random (all of them when there are fewer). */
function samplePositions(examples: Examples, count: number, rng: Rng): Int32Array {
  const all = Int32Array.from({ length: examples.count }, (_, i) => i);
  return count >= examples.count ? all : shuffleInPlace(all, rng).subarray(0, count).sort();
}

/** The kept logits of a per-example evaluation, sorted by id, as float32 values in their shortest decimal form. */
function logitSample(r: PerExample): LogitSample {
  const k = r.numClasses;
  const order = Array.from(r.kept.positions, (p, i) => ({ p, i })).sort((a, b) => r.ids[a.p]! - r.ids[b.p]!);
  return {
    ids: order.map(({ p }) => r.ids[p]!),
    labels: order.map(({ p }) => r.labels[p]!),
    logits: order.map(({ i }) => Array.from(r.kept.logits.subarray(i * k, (i + 1) * k), shortestFloat32)),
  };
}

/** The shortest decimal that reads back as the same float32 (JSON stays small and exact). */
export function shortestFloat32(v: number): number {
  for (let digits = 6; digits < 9; digits++) {
    const d = Number(v.toPrecision(digits));
    if (Math.fround(d) === v) return d;
  }
  return Number(v.toPrecision(9));
}
