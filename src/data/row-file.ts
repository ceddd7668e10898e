/**
 * Decoded images on disk: a row file holds N images as uint8 rows of C*H*W bytes (channels first), followed by a
 * JSON trailer {key, count, shape, bad}, its uint32 LE length and the magic. Reading a batch reads just its rows,
 * so memory stays bounded however many images there are; it spares decoding image files again every epoch.
 * Files are written to a temporary name and renamed, so a reader sees a whole file or none. The trailer holds the
 * SHA-256 of the rows; opening a cache (`verify`) checks it, so a file of the right size with other bytes is rebuilt.
 */
import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { UserError } from "../errors.js";
import { AtomicFile } from "../io/atomic-write.js";
import { toBytes } from "../io/tensor-data.js";
import type { Examples, ImageShape, ReadFailure } from "./types.js";
import { checkPositions, checkReadImages, imageSize } from "./types.js";

const MAGIC = Buffer.from("ONNXUNLEARN-ROWS1", "latin1");

export interface RowFileTrailer {
  key: string;
  count: number;
  shape: ImageShape;
  /** Rows whose image could not be decoded (left as zeros). */
  bad: number[];
  /** SHA-256 of the rows (hex); written by RowFileWriter. */
  sha256?: string;
}

/**
 * Reads the trailer of a row file; undefined when absent, damaged or made for another key. With `verify`, the rows
 * are read once and their SHA-256 compared with the trailer's.
 */
export function readRowFileTrailer(path: string, key: string, verify = false): RowFileTrailer | undefined {
  if (!existsSync(path)) return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const size = fstatSync(fd).size;
    const tail = Buffer.alloc(MAGIC.length + 4);
    if (size < tail.length) return undefined;
    readSync(fd, tail, 0, tail.length, size - tail.length);
    if (!tail.subarray(4).equals(MAGIC)) return undefined;
    const len = tail.readUInt32LE(0);
    if (len > size - tail.length) return undefined;
    const json = Buffer.alloc(len);
    readSync(fd, json, 0, len, size - tail.length - len);
    const trailer = JSON.parse(json.toString("utf8")) as RowFileTrailer;
    if (trailer.key !== key || size !== trailer.count * imageSize(trailer.shape) + len + tail.length) return undefined;
    if (!Array.isArray(trailer.bad) || !trailer.bad.every((r) => Number.isSafeInteger(r))) return undefined;
    if (verify && rowsDigest(fd, size - len - tail.length) !== trailer.sha256) return undefined;
    return trailer;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function rowsDigest(fd: number, length: number): string {
  const hash = createHash("sha256");
  const buf = Buffer.alloc(1 << 20);
  for (let pos = 0; pos < length;) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, length - pos), pos);
    if (n <= 0) break;
    hash.update(buf.subarray(0, n));
    pos += n;
  }
  return hash.digest("hex");
}

/** Writes a row file: rows are appended in order, then finish() adds the trailer and renames it into place. */
export class RowFileWriter {
  readonly #file: AtomicFile;
  readonly #hash = createHash("sha256");

  constructor(path: string) {
    this.#file = new AtomicFile(path);
  }

  append(rows: Uint8Array): void {
    this.#file.write(rows);
    this.#hash.update(rows);
  }

  finish(trailer: RowFileTrailer): void {
    try {
      if (this.#file.bytes !== trailer.count * imageSize(trailer.shape)) {
        throw new Error(`RowFileWriter: ${this.#file.bytes} bytes of rows, expected ${trailer.count} rows`);
      }
      const json = Buffer.from(JSON.stringify({ ...trailer, sha256: this.#hash.digest("hex") }), "utf8");
      const len = Buffer.alloc(4);
      len.writeUInt32LE(json.length);
      for (const c of [json, len, MAGIC]) this.#file.write(c);
    } catch (e) {
      this.abort();
      throw e;
    }
    this.#file.commit();
  }

  /** Removes the temporary file (after an error). */
  abort(): void {
    this.#file.abort();
  }
}

export interface RowFileExamplesOptions {
  path: string;
  key: string;
  shape: ImageShape;
  numClasses: number;
  /** Per example: its row in the file, id, label and the image file it was decoded from (for messages). */
  rows: Int32Array;
  ids: Int32Array;
  labels: Int32Array;
  files: string[];
  /** Rows that could not be decoded (the source's skip policy left them out). */
  bad: ReadonlySet<number>;
}

/** Examples read from a row file, a batch's rows at a time. */
export class RowFileExamples implements Examples {
  readonly shape: ImageShape;
  readonly numClasses: number;
  readonly ids: Int32Array;
  readonly labels: Int32Array;
  readonly #path: string;
  readonly #key: string;
  readonly #rows: Int32Array;
  readonly #files: string[];
  readonly #bad: ReadonlySet<number>;

  constructor(o: RowFileExamplesOptions) {
    this.shape = o.shape;
    this.numClasses = o.numClasses;
    this.ids = o.ids;
    this.labels = o.labels;
    this.#path = o.path;
    this.#key = o.key;
    this.#rows = o.rows;
    this.#files = o.files;
    this.#bad = o.bad;
  }

  get count(): number {
    return this.ids.length;
  }

  async readImages(positions: ArrayLike<number>, out: Float32Array): Promise<ReadFailure[]> {
    const size = checkReadImages(this, positions, out);
    const row = Buffer.alloc(size);
    const failures: ReadFailure[] = [];
    let fd: number;
    try {
      fd = openSync(this.#path, "r");
    } catch (e) {
      throw new UserError(
        `cannot open the decoded-image cache (${(e as Error).message}); delete it to rebuild`,
        this.#path,
      );
    }
    try {
      for (let k = 0; k < positions.length; k++) {
        const p = positions[k];
        if (this.#bad.has(this.#rows[p])) {
          failures.push({
            index: p,
            id: this.ids[p],
            message: `${this.#files[p]}: cannot decode image (id ${this.ids[p]}), skipped when the cache was built`,
          });
          continue;
        }
        if (readSync(fd, row, 0, size, this.#rows[p] * size) !== size)
          throw new UserError("truncated decoded-image cache; delete it to rebuild", this.#path);
        const base = k * size;
        for (let j = 0; j < size; j++) out[base + j] = row[j] / 255;
      }
    } finally {
      closeSync(fd);
    }
    return failures;
  }

  select(positions: ArrayLike<number>): RowFileExamples {
    checkPositions("select", positions, this.count);
    const n = positions.length;
    const rows = new Int32Array(n),
      ids = new Int32Array(n),
      labels = new Int32Array(n);
    const files: string[] = [];
    for (let k = 0; k < n; k++) {
      const p = positions[k];
      rows[k] = this.#rows[p];
      ids[k] = this.ids[p];
      labels[k] = this.labels[p];
      files.push(this.#files[p]);
    }
    return new RowFileExamples({
      path: this.#path,
      key: this.#key,
      shape: this.shape,
      numClasses: this.numClasses,
      rows,
      ids,
      labels,
      files,
      bad: this.#bad,
    });
  }

  /**
   * A row file of its own holding only these examples (next to the parent's, named by what it holds, reused
   * when it exists), so the copy references no other example's pixels.
   */
  detach(): RowFileExamples {
    const key = createHash("sha256").update(this.#key).update(toBytes(this.#rows)).digest("hex");
    const path = join(dirname(this.#path), `rows-${key.slice(0, 32)}.bin`);
    const shape = this.shape,
      size = imageSize(shape),
      n = this.count;
    const bad = Array.from({ length: n }, (_, k) => k).filter((k) => this.#bad.has(this.#rows[k]));
    if (!readRowFileTrailer(path, key, true)) {
      const writer = new RowFileWriter(path);
      const fd = openSync(this.#path, "r");
      try {
        for (let start = 0; start < n; start += 1024) {
          const m = Math.min(1024, n - start);
          const buf = Buffer.alloc(m * size);
          for (let k = 0; k < m; k++) readSync(fd, buf, k * size, size, this.#rows[start + k] * size);
          writer.append(buf);
        }
        writer.finish({ key, count: n, shape, bad });
      } catch (e) {
        writer.abort();
        throw e;
      } finally {
        closeSync(fd);
      }
    }
    return new RowFileExamples({
      path,
      key,
      shape,
      numClasses: this.numClasses,
      rows: Int32Array.from({ length: n }, (_, k) => k),
      ids: this.ids.slice(),
      labels: this.labels.slice(),
      files: [...this.#files],
      bad: new Set(bad),
    });
  }

  /** The rows of the file it reads (none in memory). */
  storage(): { examples: number; bytes: number } {
    return { examples: readRowFileTrailer(this.#path, this.#key)?.count ?? 0, bytes: 0 };
  }
}
