import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/**
 * A file written so that readers see either the old file or the whole new one, never half: the bytes go to
 * a temporary file in the same folder, which commit() renames over the target; abort() removes it.
 */
export class AtomicFile {
  readonly #path: string;
  readonly #tmp: string;
  readonly #fd: number;
  #bytes = 0;

  constructor(path: string) {
    this.#path = path;
    this.#tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
    this.#fd = openSync(this.#tmp, "w");
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.#bytes;
  }

  write(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.length) off += writeSync(this.#fd, chunk, off, chunk.length - off);
    this.#bytes += chunk.length;
  }

  commit(): void {
    try {
      fsyncSync(this.#fd);
      closeSync(this.#fd);
      renameSync(this.#tmp, this.#path);
    } catch (e) {
      this.abort();
      throw e;
    }
  }

  abort(): void {
    try {
      closeSync(this.#fd);
    } catch {
      /* already closed */
    }
    rmSync(this.#tmp, { force: true });
  }
}

/** Writes `chunks` (one buffer or several, one after another) to `path` atomically. */
export function writeFileAtomic(path: string, chunks: Uint8Array | Uint8Array[]): void {
  const file = new AtomicFile(path);
  try {
    for (const c of Array.isArray(chunks) ? chunks : [chunks]) file.write(c);
  } catch (e) {
    file.abort();
    throw e;
  }
  file.commit();
}
