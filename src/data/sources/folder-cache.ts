/**
 * The decoded-image cache of a folder source: every file decoded once (with the source's shape, resize and corrupt
 * policies) into a row file under the cache folder, named by a hash of the file list (paths, sizes, mtimes) and
 * the decoding options, so any change to the folder makes a new one. Later epochs and runs read rows instead of
 * decoding files again.
 */
import { statSync, mkdirSync } from "node:fs";
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import type { FileExamples } from "../file-examples.js";
import { readRowFileTrailer, RowFileExamples, RowFileWriter } from "../row-file.js";
import { imageSize } from "../types.js";

export interface FolderCacheOptions {
  /** Folder of the row files. */
  dir: string;
  resize: boolean;
  onCorrupt: string;
  /** Called after each chunk of files is decoded while the cache is built. */
  onProgress?: (done: number, total: number) => void;
}

export async function cachedFolderPixels(all: FileExamples, options: FolderCacheOptions): Promise<RowFileExamples> {
  const n = all.count;
  const files = Array.from({ length: n }, (_, p) => resolve(all.fileOf(p)));
  const hash = createHash("sha256").update(
    JSON.stringify({ v: 1, shape: all.shape, resize: options.resize, onCorrupt: options.onCorrupt }),
  );
  for (const f of files) {
    const st = statSync(f);
    hash.update(`${f}\0${st.size}\0${st.mtimeMs}\n`);
  }
  const key = hash.digest("hex");
  const path = join(options.dir, `folder-${key.slice(0, 32)}.bin`);
  let bad = readRowFileTrailer(path, key, true)?.bad;
  if (!bad) {
    mkdirSync(options.dir, { recursive: true });
    bad = await buildRows(all, path, key, options.onProgress);
  }
  return new RowFileExamples({
    path,
    key,
    shape: all.shape,
    numClasses: all.numClasses,
    rows: Int32Array.from({ length: n }, (_, i) => i),
    ids: all.ids,
    labels: all.labels,
    files,
    bad: new Set(bad),
  });
}

async function buildRows(
  all: FileExamples,
  path: string,
  key: string,
  onProgress?: (done: number, total: number) => void,
): Promise<number[]> {
  const size = imageSize(all.shape);
  const chunk = 256;
  const writer = new RowFileWriter(path);
  const bad: number[] = [];
  try {
    const floats = new Float32Array(chunk * size);
    const bytes = new Uint8Array(chunk * size);
    for (let start = 0; start < all.count; start += chunk) {
      const m = Math.min(chunk, all.count - start);
      const positions = Int32Array.from({ length: m }, (_, k) => start + k);
      floats.fill(0);
      for (const f of await all.readImages(positions, floats)) bad.push(f.index);
      for (let i = 0; i < m * size; i++) bytes[i] = Math.round(floats[i] * 255);
      writer.append(bytes.subarray(0, m * size));
      onProgress?.(start + m, all.count);
    }
    writer.finish({ key, count: all.count, shape: all.shape, bad });
    return bad;
  } catch (e) {
    writer.abort();
    throw e;
  }
}
