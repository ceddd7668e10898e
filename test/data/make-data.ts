/** Small data sets the data tests write themselves, in the formats the sources read. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import seedrandom from "seedrandom";
import { writeNpy } from "../../src/io/npy.js";

export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `onnx-unlearn-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Deterministic 8-bit pixels for image `id` (so a test can recompute what it wrote). */
export function pixelsOf(id: number, size: number): Uint8Array {
  const rng = seedrandom.alea(`pixels/${id}`);
  return Uint8Array.from({ length: size }, () => Math.floor(rng() * 256));
}

/**
 * Writes CIFAR-10 binary batches: `perFile[i]` records in data_batch_{i+1}.bin (i < 5) and test_batch.bin (i = 5).
 * Record r overall (the id) gets label id % 10 and pixelsOf(id, 3072). Returns the total.
 */
export function writeCifar(dir: string, perFile: number[], label = (id: number) => id % 10): number {
  const names = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`).concat("test_batch.bin");
  let id = 0;
  names.forEach((name, f) => {
    const bytes = new Uint8Array(perFile[f] * 3073);
    for (let r = 0; r < perFile[f]; r++, id++) {
      bytes[r * 3073] = label(id);
      bytes.set(pixelsOf(id, 3072), r * 3073 + 1);
    }
    writeFileSync(join(dir, name), bytes);
  });
  return id;
}

export interface PngFolderSpec {
  classes: string[];
  perClass: number;
  width: number;
  height: number;
  channels: 1 | 3;
}

/**
 * Writes `<dir>/<class>/img<k>.png` (lossless); the image of class c, index k has id c*perClass + k (sorted
 * order) and pixels pixelsOf(id, H*W*channels) in HWC order.
 */
export async function writePngFolder(dir: string, spec: PngFolderSpec): Promise<void> {
  const { width, height, channels } = spec;
  for (const [c, name] of spec.classes.entries()) {
    mkdirSync(join(dir, name), { recursive: true });
    for (let k = 0; k < spec.perClass; k++) {
      const id = c * spec.perClass + k;
      await pngOf(pixelsOf(id, width * height * channels), width, height, channels).toFile(
        join(dir, name, `img${k}.png`),
      );
    }
  }
}

export function pngOf(hwc: Uint8Array, width: number, height: number, channels: 1 | 3) {
  const image = sharp(hwc, { raw: { width, height, channels } });
  return (channels === 1 ? image.toColourspace("b-w") : image).png();
}

/** Writes x.npy ([N, C, H, W] uint8 from pixelsOf) and y.npy (int64 labels) and returns their paths. */
export function writeNpyPair(
  dir: string,
  n: number,
  shape: [number, number, number],
  labels: number[],
): { x: string; y: string } {
  const size = shape[0] * shape[1] * shape[2];
  const x = new Uint8Array(n * size);
  for (let i = 0; i < n; i++) x.set(pixelsOf(i, size), i * size);
  const paths = { x: join(dir, "x.npy"), y: join(dir, "y.npy") };
  writeNpy(paths.x, { dtype: "uint8", shape: [n, ...shape], data: x });
  writeNpy(paths.y, { dtype: "int64", shape: [n], data: BigInt64Array.from(labels, (l) => BigInt(l)) });
  return paths;
}

/** CHW floats on the [0, 1] scale from HWC bytes, as the sources must return them. */
export function chwFloats(hwc: Uint8Array, height: number, width: number, channels: number): Float32Array {
  const out = new Float32Array(hwc.length);
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < height * width; i++) out[c * height * width + i] = hwc[i * channels + c] / 255;
  }
  return out;
}
