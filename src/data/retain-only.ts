/**
 * The retain set as a type: what forget-free methods take. Only retainOnly() makes one, from a dataset minus a
 * forget set, or from a source that holds only retain data (no forget set given): a detached copy that holds
 * the retain examples alone, so nothing reachable from it can read a forget example.
 */
import type { ForgetSet } from "./forget.js";
import { splitTrain } from "./forget.js";
import type { Dataset, Examples } from "./types.js";

declare const retainOnlyBrand: unique symbol;

export type RetainOnly = Examples & { readonly [retainOnlyBrand]: true };

export function retainOnly(dataset: Dataset, forget: ForgetSet | undefined): RetainOnly {
  const retain = forget ? splitTrain(dataset, forget).retain : dataset.train;
  return retain.detach() as RetainOnly;
}

/** A collection the caller vouches holds retain examples only (a retain-only source), detached from anything else. */
export function retainOnlyOf(examples: Examples): RetainOnly {
  return examples.detach() as RetainOnly;
}
