/**
 * Runs one fuzz target for `runs` inputs inside a worker thread, so that run.ts can stop it when an input hangs.
 * Before each input it copies the input into the shared buffer and bumps a counter (the watchdog's view).
 */
import fc from "fast-check";
import { parentPort, workerData } from "node:worker_threads";
import { checkInput, type Limits } from "./check.js";
import { setup } from "./targets.js";

export interface WorkerData {
  target: string;
  runs: number;
  seed: number;
  limits: Limits;
  /** [counter, input length] as Int32, then up to the buffer's end the input's first bytes. */
  shared: SharedArrayBuffer;
}

export interface Finding {
  why: string;
  /** The input, base64 (the whole of it). */
  input: string;
  ms: number;
}

export interface Stats {
  target: string;
  runs: number;
  parsed: number;
  refused: number;
  findings: number;
  /** Distinct findings (by message with numbers blanked), the first input of each. */
  examples: Finding[];
  maxMs: number;
  totalMs: number;
  inputBytes: number;
  maxInputBytes: number;
}

const data = workerData as WorkerData;
const ctx = await setup();
const target = ctx.targets.find((t) => t.name === data.target);
if (!target) throw new Error(`no fuzz target '${data.target}'`);
const state = new Int32Array(data.shared, 0, 2);
const window = new Uint8Array(data.shared, 8);
const stats: Stats = {
  target: target.name,
  runs: 0,
  parsed: 0,
  refused: 0,
  findings: 0,
  examples: [],
  maxMs: 0,
  totalMs: 0,
  inputBytes: 0,
  maxInputBytes: 0,
};
const kinds = new Set<string>();
try {
  await fc.assert(
    fc.asyncProperty(target.input, async (bytes) => {
      window.set(bytes.subarray(0, Math.min(bytes.length, window.length)));
      state[1] = bytes.length;
      Atomics.add(state, 0, 1);
      const o = await checkInput(target, bytes, data.limits);
      stats.runs++;
      stats.totalMs += o.ms;
      stats.maxMs = Math.max(stats.maxMs, o.ms);
      stats.inputBytes += bytes.length;
      stats.maxInputBytes = Math.max(stats.maxInputBytes, bytes.length);
      if (o.verdict === "parsed") stats.parsed++;
      else if (o.verdict === "refused") stats.refused++;
      else {
        stats.findings++;
        const kind = o.why!.replace(/\d+/g, "N");
        if (!kinds.has(kind) && kinds.size < 50) {
          kinds.add(kind);
          stats.examples.push({ why: o.why!, input: Buffer.from(bytes).toString("base64"), ms: o.ms });
        }
      }
      if (stats.runs % 500 === 0) parentPort!.postMessage({ progress: stats.runs });
      return true;
    }),
    { numRuns: data.runs, seed: data.seed, endOnFailure: true },
  );
} finally {
  ctx.cleanup();
}
parentPort!.postMessage({ done: stats });
