/**
 * The data's share of a job's memory (the peak-memory estimate, src/training/memory/): the images the collections
 * hold (each storage counted once: a view shares its source's) and the batches in flight.
 */
import { imageSize, type Examples, type ImageShape } from "./types.js";

/** Bytes of images held in memory by `collections`; collections read from files per batch hold none. */
export function heldImageBytes(collections: Examples[]): number {
  return collections.reduce((sum, c) => sum + c.storage().bytes, 0);
}

/**
 * Bytes of the batches alive at once while a loop consumes them: the one in use and `prefetch` made ahead
 * (batches.ts), each float32 images, int64 labels and int32 ids.
 */
export function batchBytes(shape: ImageShape, batchSize: number, prefetch = 2): number {
  return (prefetch + 1) * batchSize * (imageSize(shape) * 4 + 12);
}
