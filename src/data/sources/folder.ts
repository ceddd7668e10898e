/**
 * A folder of images, one sub-folder per class: `<dir>/<class name>/<file>.png|.jpg|.jpeg|.webp`. Classes are the
 * sub-folders in sorted order (label = rank), files sorted within each; ids run over the files in that order.
 * Files are decoded on demand (memory holds paths, not pixels), or once into a pixel cache (`pixelCache`). The image shape is `shape` if given, else the
 * first file's (1 channel if it is grey, else 3; alpha dropped); images of another size are an error unless
 * `resize` is on. test: a fraction (default 0.2, 0 allowed) drawn stratified by class with a fixed seed, or, when
 * the folder's only sub-folders are train/ and test/ (each with class sub-folders), that given split (classes:
 * the union of both sides' class folders; ids: train files first).
 */
import { readdirSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import sharp from "sharp";
import { UserError } from "../../errors.js";
import { cacheDir } from "../cache.js";
import { FileExamples, type CorruptPolicy } from "../file-examples.js";
import { cachedFolderPixels } from "./folder-cache.js";
import { checkImageShape } from "./image-limits.js";
import { buildDataset, checkFraction, testCount, type TestSplitOptions } from "../splits.js";
import type { Dataset, ImageShape } from "../types.js";

export const IMAGE_EXTENSIONS = [".png", ".jpg", ".jpeg", ".webp"];

export interface FolderOptions extends TestSplitOptions {
  /** The image shape; default: the first file's. */
  shape?: ImageShape;
  /** Resize images of another size to the shape (default false: an error naming the file). */
  resize?: boolean;
  /** A file that cannot be decoded: "stop" (default) or "skip" (left out with a warning naming it). */
  onCorrupt?: CorruptPolicy;
  /**
   * Decode every file once into a cache file of 8-bit rows (under `cacheDir`) and read batches from it: much faster
   * epochs (sharp spends ~2 ms on even a tiny image), memory still bounded. Default false: decode on demand.
   */
  pixelCache?: boolean;
  /** Folder of the pixel cache (default: $ONNX_UNLEARN_CACHE_DIR, else node_modules/.cache/onnx-unlearn). */
  cacheDir?: string;
  /** Progress of building the pixel cache. */
  onProgress?: (done: number, total: number) => void;
}

export async function openFolder(dir: string, options: FolderOptions = {}): Promise<Dataset> {
  checkFraction("testFraction", options.testFraction);
  checkFraction("validationFraction", options.validationFraction);
  const subDirs = subFolders(dir);
  const published = subDirs.length === 2 && subDirs[0] === "test" && subDirs[1] === "train";
  if (published && options.testFraction !== undefined) {
    throw new UserError(
      "the folder has train/ and test/ sub-folders, so its test split is given: testFraction does not apply",
      dir,
    );
  }
  const roots = published ? [join(dir, "train"), join(dir, "test")] : [dir];
  const classNames = [...new Set(roots.flatMap(subFolders))].sort();
  if (classNames.length === 0) throw new UserError("no class sub-folders (expected <dir>/<class>/<image files>)", dir);
  const files: string[] = [];
  const labels: number[] = [];
  let ignored = 0;
  const trainCount: number[] = [];
  for (const root of roots) {
    classNames.forEach((name, label) => {
      if (!isDir(join(root, name))) return;
      for (const f of listDir(join(root, name)).sort()) {
        if (IMAGE_EXTENSIONS.includes(extname(f).toLowerCase())) {
          files.push(join(root, name, f));
          labels.push(label);
        } else ignored++;
      }
    });
    trainCount.push(files.length);
  }
  if (files.length === 0)
    throw new UserError(`no image files (${IMAGE_EXTENSIONS.join(", ")}) in the class sub-folders`, dir);
  if (options.shape) checkImageShape(options.shape, dir);
  const shape = options.shape ?? (await firstShape(files, options.onCorrupt ?? "stop"));
  const onDemand = new FileExamples({
    shape,
    numClasses: classNames.length,
    files,
    labels: Int32Array.from(labels),
    ids: Int32Array.from({ length: files.length }, (_, i) => i),
    resize: options.resize,
    onCorrupt: options.onCorrupt,
  });
  const all = options.pixelCache
    ? await cachedFolderPixels(onDemand, {
        dir: cacheDir(options.cacheDir, "sharp"),
        resize: options.resize ?? false,
        onCorrupt: options.onCorrupt ?? "stop",
        onProgress: options.onProgress,
      })
    : onDemand;
  const notes = [
    `${files.length} image files in ${classNames.length} class folders, ${options.pixelCache ? "decoded once into the pixel cache" : "decoded on demand"}`,
  ];
  if (published)
    notes.push(`given split: ${trainCount[0]} files under train/, ${files.length - trainCount[0]} under test/`);
  if (ignored) notes.push(`${ignored} files without an image extension ignored`);
  const test = published
    ? Int32Array.from({ length: files.length - trainCount[0] }, (_, k) => trainCount[0] + k)
    : testCount(files.length, options.testFraction);
  return buildDataset({
    spec: `folder:${dir}`,
    all,
    classNames,
    notes,
    test,
    validationFraction: options.validationFraction,
    splitSeed: options.splitSeed,
  });
}

function subFolders(dir: string): string[] {
  return listDir(dir)
    .filter((n) => isDir(join(dir, n)))
    .sort();
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    throw new UserError(`cannot read folder (${(e as Error).message})`, dir);
  }
}

function isDir(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

async function firstShape(files: string[], onCorrupt: CorruptPolicy): Promise<ImageShape> {
  for (const file of files) {
    try {
      return await readImageShape(file);
    } catch (e) {
      if (onCorrupt === "stop" || !(e instanceof UserError)) throw e;
    }
  }
  throw new UserError("no image file could be decoded", files[0]);
}

/**
 * The shape of an image file from its header alone (1 channel if grey, else 3; alpha dropped), checked against the
 * pixel limit. A file sharp cannot read is a UserError "cannot decode image".
 */
export async function readImageShape(file: string): Promise<ImageShape> {
  let m: Awaited<ReturnType<ReturnType<typeof sharp>["metadata"]>>;
  try {
    m = await sharp(file).metadata(); // the header only
  } catch (e) {
    throw new UserError(`cannot decode image: ${(e as Error).message.trim().split("\n")[0]}`, file);
  }
  const colours = (m.channels ?? 3) - (m.hasAlpha ? 1 : 0);
  const shape = { channels: colours === 1 ? 1 : 3, height: m.height, width: m.width };
  checkImageShape(shape, file);
  return shape;
}
