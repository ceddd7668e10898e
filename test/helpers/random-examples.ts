/** Small in-memory data sets of random images for the training-loop tests. */
import { MemoryExamples } from "../../src/data/index.js";
import { rngFor } from "../../src/data/random.js";

/**
 * `count` random 1x28x28 images drawn from the named stream (the same bytes every time), labels id % 10, ids
 * 0..count-1; `edit` may change the pixels first (a NaN, an image of huge values).
 */
export function randomExamples(count: number, stream: string, edit?: (pixels: Float32Array) => void): MemoryExamples {
  const rng = rngFor(stream);
  const pixels = Float32Array.from({ length: count * 784 }, () => rng());
  edit?.(pixels);
  return new MemoryExamples({
    shape: { channels: 1, height: 28, width: 28 },
    numClasses: 10,
    pixels,
    ids: Int32Array.from({ length: count }, (_, i) => i),
    labels: Int32Array.from({ length: count }, (_, i) => i % 10),
  });
}
