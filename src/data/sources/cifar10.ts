/**
 * CIFAR-10 in the published binary format (cifar-10-binary.tar.gz): data_batch_1.bin .. data_batch_5.bin (train)
 * and test_batch.bin (test), each a run of records of 1 label byte + 3072 pixel bytes (1024 red, 1024 green,
 * 1024 blue, rows of 32). `dir` may be the extracted cifar-10-batches-bin folder or the folder holding it.
 * ids: record index over the files in that order (train files first, then test).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../../errors.js";
import { throwProblems } from "../problems.js";
import { MemoryExamples } from "../memory-examples.js";
import { buildDataset, checkFraction, type SplitOptions } from "../splits.js";
import type { Dataset } from "../types.js";

export const CIFAR10_CLASSES = [
  "airplane",
  "automobile",
  "bird",
  "cat",
  "deer",
  "dog",
  "frog",
  "horse",
  "ship",
  "truck",
];
const CIFAR10_TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
const CIFAR10_TEST_FILE = "test_batch.bin";
const RECORD = 1 + 3072;

export type Cifar10Options = SplitOptions;

export function openCifar10(dir: string, options: Cifar10Options = {}): Dataset {
  checkFraction("validationFraction", options.validationFraction);
  const root = existsSync(join(dir, "cifar-10-batches-bin")) ? join(dir, "cifar-10-batches-bin") : dir;
  const names = [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE];
  const missing = names.filter((n) => !existsSync(join(root, n)));
  if (missing.length) throw new UserError(`missing CIFAR-10 binary files: ${missing.join(", ")}`, root);
  const notFiles = names.filter((n) => !statSync(join(root, n)).isFile());
  if (notFiles.length) throw new UserError(`not regular files: ${notFiles.join(", ")}`, root);
  const files = names.map((n) => ({ path: join(root, n), bytes: readBatch(join(root, n)) }));
  const { labels, pixels, problems } = decodeCifarBatches(files);
  throwProblems(root, "bad CIFAR-10 data", problems);
  const total = labels.length;
  const all = new MemoryExamples({
    shape: { channels: 3, height: 32, width: 32 },
    numClasses: 10,
    pixels,
    ids: Int32Array.from({ length: total }, (_, i) => i),
    labels,
  });
  const testRecords = Math.floor(files[files.length - 1].bytes.length / RECORD);
  return buildDataset({
    spec: `cifar10:${dir}`,
    all,
    classNames: readClassNames(root),
    test: Int32Array.from({ length: testRecords }, (_, k) => total - testRecords + k),
    validationFraction: options.validationFraction,
    splitSeed: options.splitSeed,
    notes: [
      `published split: ${total - testRecords} train records (data_batch_1..5), ${testRecords} test records (test_batch)`,
    ],
  });
}

/**
 * The records of CIFAR-10 binary batches, in order: labels and CHW pixels. Problems (a file that is not a whole
 * number of records, a label above 9) are listed, not thrown; memory is sized by the bytes given, never by a field.
 */
export function decodeCifarBatches(files: { path: string; bytes: Uint8Array }[]): {
  labels: Int32Array;
  pixels: Uint8Array;
  problems: string[];
} {
  const problems: string[] = [];
  for (const f of files)
    if (f.bytes.length % RECORD !== 0)
      problems.push(`${f.path}: ${f.bytes.length} bytes is not a whole number of ${RECORD}-byte records`);
  const total = files.reduce((a, f) => a + Math.floor(f.bytes.length / RECORD), 0);
  const labels = new Int32Array(total);
  const pixels = new Uint8Array(total * 3072);
  let id = 0;
  for (const f of files) {
    const records = Math.floor(f.bytes.length / RECORD);
    for (let r = 0; r < records; r++, id++) {
      const label = f.bytes[r * RECORD]!;
      if (label > 9) problems.push(`${f.path}: record ${r} (id ${id}) has label ${label}, expected 0-9`);
      labels[id] = label;
      pixels.set(f.bytes.subarray(r * RECORD + 1, (r + 1) * RECORD), id * 3072);
    }
  }
  return { labels, pixels, problems };
}

function readBatch(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UserError(`cannot read CIFAR-10 batch (${(e as NodeJS.ErrnoException).code ?? String(e)})`, path);
  }
}

function readClassNames(root: string): string[] {
  const meta = join(root, "batches.meta.txt");
  if (!statSync(meta, { throwIfNoEntry: false })?.isFile()) return CIFAR10_CLASSES;
  const names = readBatch(meta)
    .toString("utf8")
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean);
  return names.length === 10 ? names : CIFAR10_CLASSES;
}
