import type { Examples } from "./types.js";
import { imageSize } from "./types.js";

/**
 * Reads every image of `examples` in order, `chunk` at a time, and calls `visit` with each readable one (C*H*W
 * floats, a view valid only during the call). Returns how many could not be read (skipped corrupt files).
 */
export async function forEachImage(
  examples: Examples,
  chunk: number,
  visit: (image: Float32Array) => void,
): Promise<number> {
  const size = imageSize(examples.shape);
  const buf = new Float32Array(chunk * size);
  let unreadable = 0;
  for (let start = 0; start < examples.count; start += chunk) {
    const positions = Int32Array.from({ length: Math.min(chunk, examples.count - start) }, (_, k) => start + k);
    const failed = new Set((await examples.readImages(positions, buf)).map((f) => f.index));
    unreadable += failed.size;
    positions.forEach((p, k) => {
      if (!failed.has(p)) visit(buf.subarray(k * size, (k + 1) * size));
    });
  }
  return unreadable;
}
