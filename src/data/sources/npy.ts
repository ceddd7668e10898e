/**
 * Images and labels from two NumPy files: `x.npy` of shape [N, C, H, W] (or [N, H, W], one channel), uint8
 * (read as value/255) or float32/float64 (read as they are), and `y.npy` of N integer labels. ids: row index.
 * test: a fraction (default 0.2, 0 allowed) drawn stratified by class with a fixed seed.
 */
import { readNpy, type NpyArray } from "../../io/npy.js";
import { UserError } from "../../errors.js";
import { MemoryExamples } from "../memory-examples.js";
import { throwProblems } from "../problems.js";
import { buildDataset, checkFraction, testCount, type TestSplitOptions } from "../splits.js";
import { imageSize, type Dataset, type ImageShape } from "../types.js";

export interface NpyOptions extends TestSplitOptions {
  /** Number of classes (default: largest label + 1); labels must lie in [0, numClasses). */
  numClasses?: number;
}

export function openNpy(xPath: string, yPath: string, options: NpyOptions = {}): Dataset {
  checkFraction("testFraction", options.testFraction);
  checkFraction("validationFraction", options.validationFraction);
  const x = readNpy(xPath);
  const y = readNpy(yPath);
  const { shape, count } = imageShapeOf(x, xPath);
  const labels = labelsOf(y, yPath, count, options.numClasses);
  const numClasses = options.numClasses ?? labels.reduce((m, c) => Math.max(m, c + 1), 0);
  const pixels =
    x.dtype === "uint8" ? (x.data as Uint8Array) : Float32Array.from(x.data as Float32Array | Float64Array);
  if (pixels instanceof Float32Array) checkFinite(pixels, shape, xPath);
  const all = new MemoryExamples({
    shape,
    numClasses,
    pixels,
    ids: Int32Array.from({ length: count }, (_, i) => i),
    labels,
  });
  return buildDataset({
    spec: `npy:${xPath},${yPath}`,
    all,
    classNames: Array.from({ length: numClasses }, (_, c) => String(c)),
    test: testCount(count, options.testFraction),
    validationFraction: options.validationFraction,
    splitSeed: options.splitSeed,
    notes: [`${count} images of dtype ${x.dtype}${x.dtype === "uint8" ? " (read as value/255)" : ""}`],
  });
}

function imageShapeOf(x: NpyArray, path: string): { shape: ImageShape; count: number } {
  if (!["uint8", "float32", "float64"].includes(x.dtype)) {
    throw new UserError(`images must be uint8, float32 or float64, got ${x.dtype}`, path);
  }
  const s = x.shape;
  if (s.length === 4) return { shape: { channels: s[1], height: s[2], width: s[3] }, count: s[0] };
  if (s.length === 3) return { shape: { channels: 1, height: s[1], width: s[2] }, count: s[0] };
  throw new UserError(`images must have shape [N, C, H, W] or [N, H, W], got [${s.join(", ")}]`, path);
}

function labelsOf(y: NpyArray, path: string, count: number, numClasses?: number): Int32Array {
  if (y.dtype.startsWith("float") || y.dtype === "bool")
    throw new UserError(`labels must be integers, got ${y.dtype}`, path);
  if (y.shape.length !== 1 && !(y.shape.length === 2 && y.shape[1] === 1)) {
    throw new UserError(`labels must have shape [N], got [${y.shape.join(", ")}]`, path);
  }
  if (y.shape[0] !== count) throw new UserError(`${y.shape[0]} labels for ${count} images`, path);
  if (numClasses !== undefined && !(Number.isSafeInteger(numClasses) && numClasses > 0)) {
    throw new UserError(`numClasses must be a positive integer, got ${numClasses}`);
  }
  const labels = new Int32Array(count);
  const problems: string[] = [];
  const limit = numClasses ?? 2 ** 31 - 1;
  for (let i = 0; i < count; i++) {
    const v = Number(y.data[i]);
    if (!(v >= 0 && v < limit)) problems.push(`item ${i} has label ${v}`);
    labels[i] = v;
  }
  throwProblems(path, `labels out of range [0, ${numClasses ?? "2^31"})`, problems);
  return labels;
}

function checkFinite(pixels: Float32Array, shape: ImageShape, path: string): void {
  const size = imageSize(shape);
  const bad: string[] = [];
  for (let i = 0; i < pixels.length; i++) {
    if (!Number.isFinite(pixels[i])) {
      bad.push(`item ${Math.floor(i / size)}`);
      i = (Math.floor(i / size) + 1) * size - 1;
    }
  }
  throwProblems(path, "images with NaN or infinite values", bad);
}
