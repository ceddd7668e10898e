/**
 * Tiny run folders made by the real jobs (train, unlearn) for the score and report tests: 120 images of 1x8x8 in
 * 4 classes (96 train, 24 test), a width-2 ResNet-18, a forget set random:12. Built once per test process (a few
 * seconds) and removed when it exits; tests that change runs change copies (copyRuns).
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rngFor } from "../../src/data/random.js";
import { train, unlearn } from "../../src/index.js";
import type { RunManifest } from "../../src/runs/index.js";
import { writeNpyPair } from "../data/make-data.js";

export interface TinyRuns {
  dir: string;
  data: string;
  forget: string;
  /** 1 run, all of train. */
  original: string;
  /** 3 runs on the retain set. */
  retrained: string;
  /** 3 runs of the method (stochastic). */
  unlearned: string;
  /** 2 runs of fine-tuning (a baseline). */
  finetune: string;
}

let made: Promise<TinyRuns> | undefined;

export function tinyRuns(): Promise<TinyRuns> {
  return (made ??= make());
}

async function make(): Promise<TinyRuns> {
  const dir = mkdtempSync(join(tmpdir(), "onnx-unlearn-tiny-runs-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  const rng = rngFor("tiny-runs labels");
  const p = writeNpyPair(
    dir,
    120,
    [1, 8, 8],
    Array.from({ length: 120 }, () => Math.floor(rng() * 4)),
  );
  const data = `npy:${p.x},${p.y}`;
  const forget = "random:12";
  const runs: TinyRuns = {
    dir,
    data,
    forget,
    original: join(dir, "original"),
    retrained: join(dir, "retrained"),
    unlearned: join(dir, "unlearned"),
    finetune: join(dir, "finetune"),
  };
  const common = { data, model: "zoo:resnet18w8:width=2", epochs: 2, batchSize: 16, intraOpThreads: 1 };
  await train({ ...common, out: runs.original });
  await train({ ...common, out: runs.retrained, runs: 3, excludeForget: forget });
  const model = join(runs.original, "model.onnx");
  const quick = { model, data, forget, maxStepsPerEpoch: 2, intraOpThreads: 1 };
  await unlearn({ ...quick, out: runs.unlearned, runs: 3, config: { epochs: [1], layers: 1, batchSize: 16 } });
  await unlearn({ ...quick, out: runs.finetune, runs: 2, config: { method: "finetune", batchSize: 16 } });
  return runs;
}

/** A copy of a run folder or group under `to` (cached evaluations included). */
export function copyRuns(from: string, to: string): string {
  cpSync(from, to, { recursive: true });
  return to;
}

/** Rewrites a run's manifest.json with `change` applied. */
export function editManifest(runDir: string, change: (m: RunManifest) => void): void {
  const path = join(runDir, "manifest.json");
  const m = JSON.parse(readFileSync(path, "utf8")) as RunManifest;
  change(m);
  writeFileSync(path, JSON.stringify(m, null, 2));
}
