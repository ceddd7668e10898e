/**
 * A minimal zip reader for torch.save archives: reads the central directory (zip64 included) and returns
 * entry contents. torch writes STORED entries; DEFLATE is accepted too. Nothing is extracted to disk.
 * Every read is bounds-checked (a damaged archive is a UserError, never a RangeError), and inflating is bounded:
 * an entry may not claim more than DEFLATE's best ratio (1032:1) of its compressed size nor more than
 * `maxInflatedBytes`, and inflating stops at the size it claims.
 */
import { inflateRawSync } from "node:zlib";
import { UserError } from "../../errors.js";

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
/** DEFLATE cannot compress better than 1032:1 (a 258-byte match in at most 2 bits). */
const DEFLATE_MAX_RATIO = 1032;
/** Default limit of one inflated entry. */
export const MAX_INFLATED_BYTES = 2 ** 30;

export const isZip = (bytes: Uint8Array): boolean =>
  bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;

export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly file: string,
    private readonly maxInflatedBytes = MAX_INFLATED_BYTES,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.readDirectory();
  }

  private fail(msg: string): never {
    throw new UserError(`is not a readable torch.save zip archive (${msg}); truncated?`, this.file);
  }

  private at(o: number, n: number): number {
    if (!(o >= 0 && o + n <= this.bytes.length)) this.fail(`a record at byte ${o} runs past the end of the file`);
    return o;
  }
  private u16 = (o: number) => this.view.getUint16(this.at(o, 2), true);
  private u32 = (o: number) => this.view.getUint32(this.at(o, 4), true);
  private u64 = (o: number) => Number(this.view.getBigUint64(this.at(o, 8), true));

  private findEocd(): number {
    const min = Math.max(0, this.bytes.length - 22 - 0xffff);
    for (let o = this.bytes.length - 22; o >= min; o--) if (this.u32(o) === EOCD) return o;
    return this.fail("no end-of-central-directory record");
  }

  private readDirectory(): void {
    const eocd = this.findEocd();
    let count = this.u16(eocd + 10);
    let dirOffset = this.u32(eocd + 16);
    const locator = eocd - 20;
    if (locator >= 0 && this.u32(locator) === EOCD64_LOCATOR) {
      const eocd64 = this.u64(locator + 8);
      if (eocd64 + 56 > this.bytes.length || this.u32(eocd64) !== EOCD64) this.fail("bad zip64 end record");
      count = this.u64(eocd64 + 32);
      dirOffset = this.u64(eocd64 + 48);
    }
    let o = dirOffset;
    for (let i = 0; i < count; i++) {
      if (o + 46 > this.bytes.length || this.u32(o) !== CENTRAL) this.fail(`central directory entry ${i} is damaged`);
      const nameLen = this.u16(o + 28);
      const extraLen = this.u16(o + 30);
      const commentLen = this.u16(o + 32);
      this.at(o + 46, nameLen + extraLen + commentLen);
      const name = new TextDecoder().decode(this.bytes.subarray(o + 46, o + 46 + nameLen));
      const entry: ZipEntry = {
        name,
        method: this.u16(o + 10),
        compressedSize: this.u32(o + 20),
        size: this.u32(o + 24),
        localHeaderOffset: this.u32(o + 42),
      };
      this.applyZip64Extra(entry, o + 46 + nameLen, extraLen);
      this.entries.set(name, entry);
      o += 46 + nameLen + extraLen + commentLen;
    }
  }

  /** Sizes and offsets of 0xffffffff live in the zip64 extra field, in this order. */
  private applyZip64Extra(e: ZipEntry, start: number, len: number): void {
    for (let p = start; p + 4 <= start + len;) {
      const id = this.u16(p);
      const size = this.u16(p + 2);
      if (p + 4 + size > start + len) this.fail(`the extra field of '${e.name}' runs past its end`);
      if (id === 0x0001) {
        let q = p + 4;
        for (const key of ["size", "compressedSize", "localHeaderOffset"] as const) {
          if (e[key] === 0xffffffff) {
            if (q + 8 > p + 4 + size) this.fail(`the zip64 extra field of '${e.name}' is too short`);
            e[key] = this.u64(q);
            q += 8;
          }
        }
      }
      p += 4 + size;
    }
  }

  /** The contents of an entry. */
  read(name: string): Uint8Array {
    const e = this.entries.get(name);
    if (!e) throw new UserError(`archive has no entry '${name}'`, this.file);
    const o = e.localHeaderOffset;
    if (o + 30 > this.bytes.length || this.u32(o) !== LOCAL) this.fail(`local header of '${name}' is damaged`);
    const start = o + 30 + this.u16(o + 26) + this.u16(o + 28);
    if (start + e.compressedSize > this.bytes.length) this.fail(`'${name}' runs past the end of the file`);
    const raw = this.bytes.subarray(start, start + e.compressedSize);
    if (e.method === 0) return raw;
    if (e.method === 8) {
      if (e.size > e.compressedSize * DEFLATE_MAX_RATIO + 1024)
        this.fail(`'${name}' claims ${e.size} bytes from ${e.compressedSize} compressed, beyond what DEFLATE can do`);
      if (e.size > this.maxInflatedBytes)
        this.fail(`'${name}' claims ${e.size} bytes inflated, more than the limit of ${this.maxInflatedBytes}`);
      let out: Buffer;
      try {
        out = inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
      } catch (err) {
        const c = (err as NodeJS.ErrnoException).code;
        if (c === "ERR_BUFFER_TOO_LARGE") this.fail(`'${name}' inflates to more than the ${e.size} bytes it claims`);
        return this.fail(`'${name}' does not inflate (${(err as Error).message})`);
      }
      if (out.length !== e.size) this.fail(`'${name}' inflates to ${out.length} bytes, expected ${e.size}`);
      return out;
    }
    return this.fail(`'${name}' uses compression method ${e.method}; only STORED and DEFLATE are supported`);
  }
}
