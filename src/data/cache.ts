/**
 * A compact binary copy of a decoded packaged data set (8-bit pixels, labels, ids), so that the 150 MB of JSON
 * is parsed once. It is derived data: missing, stale (other key) or damaged files are rebuilt. Damage is found by
 * the SHA-256 of the payload, stored in the header and checked on every read (a file of the right size with other
 * bytes is damaged too), and by checking every label against the class count.
 *
 * Layout: magic "ONNXUNLEARN-DS2\n", uint32 LE header length, JSON header {key, count, shape, numClasses, info,
 * sha256}, then int32 ids, int32 labels, uint8 pixels (count * C*H*W, channels first).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, join } from "node:path";
import { writeFileAtomic } from "../io/atomic-write.js";
import { fromBytes, toBytes } from "../io/tensor-data.js";
import { imageSize, type ImageShape } from "./types.js";

const MAGIC = "ONNXUNLEARN-DS2\n";

export interface CachedImages {
  shape: ImageShape;
  numClasses: number;
  ids: Int32Array;
  labels: Int32Array;
  pixels: Uint8Array;
  /** Free-form facts recorded when the cache was built (e.g. what was dropped). */
  info: Record<string, unknown>;
}

/**
 * The cache folder: `dir` if given, else $ONNX_UNLEARN_CACHE_DIR, else node_modules/.cache/onnx-unlearn next to
 * the installed `fromPackage`.
 */
export function cacheDir(dir: string | undefined, fromPackage: string): string {
  if (dir) return dir;
  if (process.env.ONNX_UNLEARN_CACHE_DIR) return process.env.ONNX_UNLEARN_CACHE_DIR;
  // the package's entry point (its package.json may not be exported), then up to the node_modules holding it
  let at = createRequire(import.meta.url).resolve(fromPackage);
  while (basename(at) !== "node_modules") {
    const up = dirname(at);
    if (up === at) throw new Error(`cacheDir: ${fromPackage} is not under a node_modules folder`);
    at = up;
  }
  return join(at, ".cache", "onnx-unlearn");
}

/** Returns the cached images stored under `key`, or undefined when absent, stale or damaged. */
export function readCache(path: string, key: string): CachedImages | undefined {
  if (!existsSync(path)) return undefined;
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return undefined;
  }
  return decodeCache(bytes, key);
}

/** The cached images in `bytes` (a cache file's contents) stored under `key`, or undefined when stale or damaged. */
export function decodeCache(bytes: Buffer, key: string): CachedImages | undefined {
  try {
    if (bytes.toString("latin1", 0, MAGIC.length) !== MAGIC) return undefined;
    const headerLen = bytes.readUInt32LE(MAGIC.length);
    let off = MAGIC.length + 4;
    const header = JSON.parse(bytes.toString("utf8", off, off + headerLen)) as {
      key: string;
      count: number;
      shape: ImageShape;
      numClasses: number;
      info: Record<string, unknown>;
      sha256: string;
    };
    off += headerLen;
    const { count, shape, numClasses } = header;
    if (header.key !== key || !Number.isSafeInteger(count) || count < 0 || !validShape(shape)) return undefined;
    if (!Number.isSafeInteger(numClasses) || numClasses < 1) return undefined;
    const size = imageSize(shape);
    if (bytes.length !== off + count * 8 + count * size) return undefined;
    if (digest(bytes.subarray(off)) !== header.sha256) return undefined;
    const ids = fromBytes("int32", bytes.subarray(off), count) as Int32Array;
    off += count * 4;
    const labels = fromBytes("int32", bytes.subarray(off), count) as Int32Array;
    off += count * 4;
    if (labels.some((c) => c < 0 || c >= numClasses)) return undefined;
    const pixels = new Uint8Array(bytes.buffer, bytes.byteOffset + off, count * size);
    return { shape, numClasses, ids, labels, pixels, info: header.info };
  } catch {
    return undefined;
  }
}

/** Writes the cache file atomically, creating its folder. */
export function writeCache(path: string, key: string, images: CachedImages): void {
  mkdirSync(dirname(path), { recursive: true });
  const { shape, numClasses, ids, labels, pixels, info } = images;
  const payload = [toBytes(ids), toBytes(labels), pixels];
  const sha256 = digest(...payload);
  const header = Buffer.from(JSON.stringify({ key, count: ids.length, shape, numClasses, info, sha256 }), "utf8");
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  writeFileAtomic(path, [Buffer.from(MAGIC, "latin1"), len, header, ...payload]);
}

function digest(...parts: Uint8Array[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
}

function validShape(s: unknown): s is ImageShape {
  const dims = s as ImageShape | undefined;
  return [dims?.channels, dims?.height, dims?.width].every((d) => Number.isSafeInteger(d) && (d as number) > 0);
}

/** A key that changes when the installed package's version or data files change. */
export function packageKey(pkg: string, files: { size: number; mtimeMs: number }[]): string {
  const version = (createRequire(import.meta.url)(`${pkg}/package.json`) as { version: string }).version;
  return `${pkg}@${version}:${files.map((f) => `${f.size}.${Math.round(f.mtimeMs)}`).join(",")}`;
}
