/**
 * What identifies a data set for a run's manifest and an evaluation's cache key: the source spec, the options
 * that shape its splits, and per split the count and a sha256 of its ids and labels (in order). Pixels are not
 * hashed (sources verify their own files); two sources with the same ids and labels in the same splits are
 * taken as the same data.
 */
import { createHash } from "node:crypto";
import type { Dataset, Examples } from "./types.js";

export interface SplitIdentity {
  count: number;
  sha256: string;
}

export interface DatasetIdentity {
  spec: string;
  /** Split-shaping options as given (undefined ones left out). */
  options: Record<string, string | number | boolean>;
  shape: string;
  numClasses: number;
  train: SplitIdentity;
  validation: SplitIdentity;
  test: SplitIdentity;
}

export function splitIdentity(examples: Examples): SplitIdentity {
  const h = createHash("sha256");
  h.update(new Uint8Array(examples.ids.buffer, examples.ids.byteOffset, examples.ids.byteLength));
  h.update(new Uint8Array(examples.labels.buffer, examples.labels.byteOffset, examples.labels.byteLength));
  return { count: examples.count, sha256: h.digest("hex") };
}

export function datasetIdentity(dataset: Dataset, options: Record<string, unknown> = {}): DatasetIdentity {
  const kept = Object.fromEntries(
    Object.entries(options).filter(([, v]) => typeof v === "string" || typeof v === "number" || typeof v === "boolean"),
  ) as Record<string, string | number | boolean>;
  const { channels, height, width } = dataset.shape;
  return {
    spec: dataset.spec,
    options: kept,
    shape: `${channels}x${height}x${width}`,
    numClasses: dataset.numClasses,
    train: splitIdentity(dataset.train),
    validation: splitIdentity(dataset.validation),
    test: splitIdentity(dataset.test),
  };
}
