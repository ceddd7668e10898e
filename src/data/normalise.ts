import { UserError } from "../errors.js";
import { forEachImage } from "./scan.js";
import type { Examples } from "./types.js";

/** Per-channel normalisation: x' = (x - mean[c]) / std[c], on the source's scale (8-bit images in [0, 1]). */
export interface Normalisation {
  mean: number[];
  std: number[];
}

/** Checks that mean and std have one finite value per channel and std > 0, naming what is wrong. */
export function checkNormalisation(norm: Normalisation, channels: number): void {
  const problems: string[] = [];
  if (norm.mean.length !== channels)
    problems.push(`mean has ${norm.mean.length} values, the images have ${channels} channels`);
  if (norm.std.length !== channels)
    problems.push(`std has ${norm.std.length} values, the images have ${channels} channels`);
  if (norm.mean.some((m) => !Number.isFinite(m))) problems.push(`mean must be finite, got [${norm.mean}]`);
  if (norm.std.some((s) => !(Number.isFinite(s) && s > 0)))
    problems.push(`std must be finite and > 0, got [${norm.std}]`);
  if (problems.length) throw new UserError(`bad normalisation: ${problems.join("; ")}`);
}

export interface ComputeNormalisationOptions {
  /** Images read at a time (default 1024). */
  chunk?: number;
}

/**
 * Mean and (population) standard deviation of every channel over all pixels of `examples`, e.g. the train
 * split. A channel with no spread gets std 1, so normalising it stays finite. Unreadable examples (skipped
 * corrupt files) are left out.
 */
export async function computeNormalisation(
  examples: Examples,
  options: ComputeNormalisationOptions = {},
): Promise<Normalisation> {
  const { channels, height, width } = examples.shape;
  const plane = height * width;
  const sum = new Float64Array(channels),
    sumSq = new Float64Array(channels);
  let images = 0;
  await forEachImage(examples, options.chunk ?? 1024, (image) => {
    images++;
    for (let c = 0; c < channels; c++) {
      let s = 0,
        q = 0;
      for (let i = c * plane; i < (c + 1) * plane; i++) {
        const v = image[i];
        s += v;
        q += v * v;
      }
      sum[c] += s;
      sumSq[c] += q;
    }
  });
  if (images === 0) throw new UserError("cannot compute normalisation: no readable images");
  const n = images * plane;
  const mean = Array.from(sum, (s) => s / n);
  const std = Array.from(sumSq, (q, c) => Math.sqrt(Math.max(0, q / n - mean[c] * mean[c])) || 1);
  return { mean, std };
}

/** What a caller asks for: none (images on the source's scale), auto (statistics of `examples`), or given values. */
export type NormalisationRequest = "none" | "auto" | Normalisation;

/**
 * The normalisation a request resolves to for images of `channels` channels: auto computes it from `examples`
 * (only then are they read); one mean/std pair applies to every channel.
 */
export async function resolveNormalisation(
  n: NormalisationRequest | undefined,
  examples: Examples,
  channels: number,
): Promise<Normalisation | undefined> {
  if (n === undefined || n === "none") return undefined;
  if (n === "auto") return computeNormalisation(examples);
  if (n.mean.length === 1 && n.std.length === 1 && channels > 1) {
    return { mean: Array<number>(channels).fill(n.mean[0]!), std: Array<number>(channels).fill(n.std[0]!) };
  }
  if (n.mean.length !== channels || n.std.length !== channels) {
    throw new UserError(
      `normalisation has ${n.mean.length} means and ${n.std.length} stds; the images have ${channels} channels`,
    );
  }
  return n;
}
