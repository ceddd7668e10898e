/**
 * Loader benchmark: `npm run bench:data -- [--json out.json] [--folder-images 50000] [--no-folder]`.
 * 1. fashion-mnist train split, one shuffled epoch at batch 64 and 256 with normalisation (computed from train)
 *    and Gaussian noise sigma 0.01, as the method consumes it: batches/s and images/s (wall clock, and per CPU
 *    second of this process, which is steadier on a shared machine).
 * 2. overlap: the loader feeding an onnxruntime session (forward of the fixture ResNet-18 w8) at batch 64: mean
 *    step time and mean wait for the next batch (near zero when preparation overlaps the step).
 * 3. a folder of N 28x28 grey PNGs (fashion-mnist images, written to a temp dir and removed after): one epoch at
 *    batch 256 decoded on demand, then the pixel cache built and one epoch read from it, with RSS sampled every
 *    20 ms: peak RSS stays bounded (paths and the batches in flight, not every image).
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { writeFileAtomic } from "../src/io/atomic-write.js";
import {
  computeNormalisation,
  openSource,
  trainingBatches,
  type Examples,
  type Normalisation,
} from "../src/data/index.js";

interface Args {
  json?: string;
  folderImages: number;
  folder: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { folderImages: 50_000, folder: true };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--json") args.json = argv[++i];
    else if (argv[i] === "--folder-images") args.folderImages = Number(argv[++i]);
    else if (argv[i] === "--no-folder") args.folder = false;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return args;
}

const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

async function epochRate(examples: Examples, batchSize: number, normalisation: Normalisation, onBatch?: () => void) {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let batches = 0,
    images = 0;
  for await (const b of trainingBatches(examples, { batchSize, normalisation, noiseSigma: 0.01, seed: 1 })) {
    batches++;
    images += b.ids.length;
    onBatch?.();
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return {
    batchSize,
    batches,
    images,
    seconds: +seconds.toFixed(3),
    batchesPerSec: +(batches / seconds).toFixed(1),
    imagesPerSec: Math.round(images / seconds),
    cpuSeconds: +cpuSeconds.toFixed(3),
    imagesPerCpuSecond: Math.round(images / cpuSeconds),
  };
}

async function benchFashionMnist() {
  let t0 = performance.now();
  const d = await openSource("fashion-mnist");
  const openSeconds = (performance.now() - t0) / 1000;
  t0 = performance.now();
  const normalisation = await computeNormalisation(d.train);
  const normSeconds = (performance.now() - t0) / 1000;
  await epochRate(d.train.select(Int32Array.from({ length: 4096 }, (_, i) => i)), 256, normalisation); // warm-up
  const rates = [];
  for (const batchSize of [64, 256]) rates.push(await epochRate(d.train, batchSize, normalisation));
  return {
    trainImages: d.train.count,
    openSeconds: +openSeconds.toFixed(3),
    normalisationSeconds: +normSeconds.toFixed(3),
    normalisation,
    rates,
  };
}

async function benchFolder(count: number) {
  const dir = mkdtempSync(join(tmpdir(), "onnx-unlearn-bench-folder-"));
  try {
    const d = await openSource("fashion-mnist");
    const t0 = performance.now();
    const buf = new Float32Array(784);
    const perClass = Math.ceil(count / 10);
    for (let c = 0; c < 10; c++) mkdirSync(join(dir, "images", `class${c}`), { recursive: true });
    const written = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    const jobs: Promise<unknown>[] = [];
    for (let p = 0, n = 0; p < d.all.count && n < count; p++) {
      const c = d.all.labels[p];
      if (written[c] >= perClass) continue;
      await d.all.readImages([p], buf);
      const bytes = Uint8Array.from(buf, (v) => Math.round(v * 255));
      jobs.push(
        sharp(bytes, { raw: { width: 28, height: 28, channels: 1 } })
          .toColourspace("b-w")
          .png()
          .toFile(join(dir, "images", `class${c}`, `${String(written[c]++).padStart(6, "0")}.png`)),
      );
      n++;
      if (jobs.length >= 64) await Promise.all(jobs.splice(0));
    }
    await Promise.all(jobs);
    const generateSeconds = (performance.now() - t0) / 1000;
    const onDemand = await folderEpoch(join(dir, "images"), {});
    const cacheDir = join(dir, "cache");
    const tb = performance.now();
    await openSource(`folder:${join(dir, "images")}`, { testFraction: 0, pixelCache: true, cacheDir });
    const cacheBuildSeconds = (performance.now() - tb) / 1000;
    const cached = await folderEpoch(join(dir, "images"), { pixelCache: true, cacheDir });
    return {
      images: count,
      generateSeconds: +generateSeconds.toFixed(1),
      onDemand,
      pixelCache: { buildSeconds: +cacheBuildSeconds.toFixed(1), ...cached },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One epoch over a folder at batch 256 with RSS sampled every 20 ms and at each quarter of the epoch. */
async function folderEpoch(dir: string, options: { pixelCache?: boolean; cacheDir?: string }) {
  global.gc?.();
  const baselineRss = process.memoryUsage().rss;
  let peakRss = baselineRss;
  const sample = () => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  };
  const timer = setInterval(sample, 20);
  try {
    const folder = await openSource(`folder:${dir}`, { testFraction: 0, ...options });
    const rssAtQuarters: number[] = [];
    const total = Math.ceil(folder.train.count / 256);
    let seen = 0;
    const epoch = await epochRate(folder.train, 256, { mean: [0.286], std: [0.353] }, () => {
      sample();
      if (++seen % Math.ceil(total / 4) === 0 || seen === total) rssAtQuarters.push(mb(process.memoryUsage().rss));
    });
    return { epoch, baselineRssMB: mb(baselineRss), peakRssMB: mb(peakRss), rssAtQuartersMB: rssAtQuarters };
  } finally {
    clearInterval(timer);
  }
}

/**
 * Overlap check: 100 batches of 64 from the loader through the fixture ResNet-18 w8 (forward, onnxruntime), timing
 * apart the wait for the next batch and the step. With prefetching, the batches are prepared while the step runs,
 * so the wait is near zero.
 */
async function benchOverlap() {
  const ort = await import("onnxruntime-node");
  const session = await ort.InferenceSession.create("test/fixtures/pytorch/resnet18w8_fmnist.ts-eval.onnx");
  const d = await openSource("fashion-mnist");
  const normalisation = await computeNormalisation(d.train);
  const train = d.train.select(Int32Array.from({ length: 64 * 105 }, (_, i) => i));
  const input = session.inputNames[0];
  const gen = trainingBatches(train, { batchSize: 64, normalisation, seed: 3 });
  let waitMs = 0,
    stepMs = 0,
    maxWaitMs = 0;
  for (let i = 0; i < 105; i++) {
    let t = performance.now();
    const { value: b } = await gen.next();
    const wait = performance.now() - t;
    t = performance.now();
    await session.run({ [input]: new ort.Tensor("float32", b!.x, b!.dims) });
    if (i < 5) continue; // warm-up
    waitMs += wait;
    maxWaitMs = Math.max(maxWaitMs, wait);
    stepMs += performance.now() - t;
  }
  await session.release();
  const ms = (v: number) => +v.toFixed(3);
  return {
    model: "resnet18w8_fmnist.ts-eval.onnx (forward only)",
    batchSize: 64,
    batches: 100,
    meanStepMs: ms(stepMs / 100),
    meanWaitForBatchMs: ms(waitMs / 100),
    maxWaitForBatchMs: ms(maxWaitMs),
  };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const result = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      loadAverageAtStart: loadavg().map((l) => +l.toFixed(1)),
    },
    command: `npm run bench:data -- ${process.argv.slice(2).join(" ")}`.trim(),
    fashionMnist: await benchFashionMnist(),
    overlap: await benchOverlap(),
    folder: args.folder ? await benchFolder(args.folderImages) : undefined,
  };
  const text = JSON.stringify({ ...result, loadAverageAtEnd: loadavg().map((l) => +l.toFixed(1)) }, null, 2);
  process.stdout.write(`${text}\n`);
  if (args.json) writeFileAtomic(args.json, new TextEncoder().encode(`${text}\n`));
}

await main();
