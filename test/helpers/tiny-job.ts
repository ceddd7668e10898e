/** Tiny inputs for job tests: npy data written to a folder, and the small PyTorch-exported fixture as the original. */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { writeNpyPair } from "../data/make-data.js";

/** ResNet-18 at width 8 for 1x28x28 images, 10 classes, exported from PyTorch with BatchNormalization kept. */
export const FMNIST_MODEL = "test/fixtures/pytorch/resnet18w8_fmnist.ts-preserve.onnx";
/** The same network with the torchvision stem, for 3x32x32 images: does not fit 28x28 grey data. */
export const TVSTEM_MODEL = "test/fixtures/pytorch/resnet18w8_tvstem.ts-preserve.onnx";

/**
 * `n` 1x28x28 images with labels i % 10 as x.npy/y.npy under `dir/name`; returns the source spec. The npy
 * source keeps 20% as test, so the train split has n - round(0.2 n) examples.
 */
export function npyData(dir: string, n = 64, name = "data"): string {
  const at = join(dir, name);
  mkdirSync(at, { recursive: true });
  const { x, y } = writeNpyPair(
    at,
    n,
    [1, 28, 28],
    Array.from({ length: n }, (_, i) => i % 10),
  );
  return `npy:${x},${y}`;
}

/** The manifest without what changes from run to run of the same request (times, date, machine). */
export function stableManifest(m: Record<string, unknown>): Record<string, unknown> {
  const {
    seconds: _s,
    finished: _f,
    environment: _e,
    epochs,
    ...rest
  } = m as Record<string, unknown> & {
    epochs: Record<string, unknown>[];
  };
  return { ...rest, epochs: epochs.map(({ seconds: _t, ...e }) => e) };
}
