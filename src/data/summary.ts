import type { ForgetSet } from "./forget.js";
import { splitTrain } from "./forget.js";
import { classCounts } from "./random.js";
import { forEachImage } from "./scan.js";
import type { Dataset, Examples, ImageShape } from "./types.js";

export interface SplitSummary {
  count: number;
  perClass: number[];
}

export interface DatasetSummary {
  source: string;
  shape: ImageShape;
  numClasses: number;
  classNames: string[];
  splits: { train: SplitSummary; validation: SplitSummary; test: SplitSummary };
  /** Smallest and largest value over every image on the source's scale, and how many could not be read. */
  valueRange?: { min: number; max: number; unreadable: number };
  forget?: { description: string; count: number; perClass: number[] };
  retain?: SplitSummary;
  notes: string[];
}

export interface SummariseOptions {
  forget?: ForgetSet;
  /** Read every image for the value range (default true; for folders this decodes every file). */
  valueRange?: boolean;
}

/** Counts per split and class, image shape, value range and forget/retain sizes of a dataset. */
export async function summariseDataset(dataset: Dataset, options: SummariseOptions = {}): Promise<DatasetSummary> {
  const split = (e: Examples): SplitSummary => ({ count: e.count, perClass: classCounts(e.labels, e.numClasses) });
  const summary: DatasetSummary = {
    source: dataset.spec,
    shape: dataset.shape,
    numClasses: dataset.numClasses,
    classNames: dataset.classNames,
    splits: { train: split(dataset.train), validation: split(dataset.validation), test: split(dataset.test) },
    notes: dataset.notes,
  };
  if (options.valueRange ?? true) summary.valueRange = await valueRange(dataset.all);
  if (options.forget) {
    const { forget, retain } = splitTrain(dataset, options.forget);
    summary.forget = { description: options.forget.description, ...split(forget) };
    summary.retain = split(retain);
  }
  return summary;
}

async function valueRange(examples: Examples): Promise<{ min: number; max: number; unreadable: number }> {
  let min = Infinity,
    max = -Infinity;
  const unreadable = await forEachImage(examples, 512, (image) => {
    for (const v of image) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
  });
  return { min, max, unreadable };
}
