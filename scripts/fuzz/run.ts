/**
 * `npm run fuzz -- [--target X[,Y]] [--runs N] [--seed S] [--hang-ms T] [--json FILE] [--out DIR]`
 *
 * Runs each fuzz target (scripts/fuzz/targets.ts) for N inputs (default 1000) in a worker thread, holding every
 * input to the invariant of check.ts, and prints per target: inputs, parsed, refused with a UserError, findings,
 * slowest input. A worker whose input runs longer than --hang-ms (default 30 s) is stopped and the input kept
 * as a hang. Findings (one input per distinct kind) are written to --out (default <tmp>/onnx-unlearn-fuzz) as
 * <target>-<n>.bin; the exit code is 1 when there is any. Targets: onnx, safetensors, torch, pickle, zip, npy,
 * cifar, image, id-list, cache, run-folder, config, confs.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { DEFAULT_LIMITS } from "./check.js";
import type { Stats, WorkerData } from "./worker.js";

const TARGETS = [
  "onnx",
  "safetensors",
  "torch",
  "pickle",
  "zip",
  "npy",
  "cifar",
  "image",
  "id-list",
  "cache",
  "run-folder",
  "config",
  "confs",
];

function args(argv: string[]) {
  const get = (flag: string) => {
    const i = argv.indexOf(flag);
    return i < 0 ? undefined : argv[i + 1];
  };
  const targets = (get("--target") ?? "all").split(",");
  const unknown = targets.filter((t) => t !== "all" && !TARGETS.includes(t));
  if (unknown.length) throw new Error(`unknown target ${unknown.join(", ")}; targets: ${TARGETS.join(", ")}`);
  return {
    targets: targets.includes("all") ? TARGETS : targets,
    runs: Number(get("--runs") ?? 1000),
    seed: Number(get("--seed") ?? Date.now() % 2 ** 31),
    hangMs: Number(get("--hang-ms") ?? 30_000),
    json: get("--json"),
    out: get("--out") ?? join(tmpdir(), "onnx-unlearn-fuzz"),
  };
}

function runTarget(target: string, runs: number, seed: number, hangMs: number): Promise<Stats> {
  const shared = new SharedArrayBuffer(8 + (1 << 20));
  const state = new Int32Array(shared, 0, 2);
  const data: WorkerData = { target, runs, seed, limits: DEFAULT_LIMITS, shared };
  const worker = new Worker(new URL("./worker-entry.mjs", import.meta.url), { workerData: data });
  const started = Date.now();
  return new Promise((done, fail) => {
    let last = -1;
    let since = Date.now();
    let progress = 0;
    const watch = setInterval(() => {
      const now = Atomics.load(state, 0);
      if (now !== last) {
        last = now;
        since = Date.now();
      } else if (now > 0 && Date.now() - since > hangMs) {
        clearInterval(watch);
        const len = state[1]!;
        const input = new Uint8Array(shared, 8, Math.min(len, shared.byteLength - 8)).slice();
        void worker.terminate();
        done({
          target,
          runs: now,
          parsed: 0,
          refused: 0,
          findings: 1,
          examples: [
            { why: `hang: no progress for ${hangMs} ms`, input: Buffer.from(input).toString("base64"), ms: hangMs },
          ],
          maxMs: hangMs,
          totalMs: Date.now() - started,
          inputBytes: 0,
          maxInputBytes: len,
        });
      }
    }, 1000);
    worker.on("message", (m: { progress?: number; done?: Stats }) => {
      if (m.progress !== undefined && m.progress - progress >= Math.max(5000, runs / 10)) {
        progress = m.progress;
        process.stderr.write(`  ${target}: ${m.progress}/${runs}\n`);
      }
      if (m.done) {
        clearInterval(watch);
        done(m.done);
      }
    });
    worker.on("error", (e) => {
      clearInterval(watch);
      fail(e);
    });
  });
}

const o = args(process.argv.slice(2));
process.stderr.write(`fuzz: ${o.targets.join(", ")}; ${o.runs} inputs each; seed ${o.seed}\n`);
const results: Stats[] = [];
for (const t of o.targets) {
  const t0 = Date.now();
  const s = await runTarget(t, o.runs, o.seed, o.hangMs);
  results.push(s);
  const secs = (Date.now() - t0) / 1000;
  process.stdout.write(
    `${t.padEnd(12)} ${String(s.runs).padStart(8)} inputs  ${String(s.parsed).padStart(7)} parsed  ${String(s.refused).padStart(7)} refused  ${String(s.findings).padStart(4)} findings  slowest ${s.maxMs.toFixed(0)} ms  largest ${s.maxInputBytes} B  ${secs.toFixed(0)} s\n`,
  );
  if (s.examples.length) {
    mkdirSync(o.out, { recursive: true });
    s.examples.forEach((f, i) => {
      const file = join(o.out, `${t}-${i}.bin`);
      writeFileSync(file, Buffer.from(f.input, "base64"));
      process.stdout.write(`  finding: ${f.why} (${file})\n`);
    });
  }
}
if (o.json) writeFileSync(o.json, `${JSON.stringify({ seed: o.seed, runs: o.runs, results }, null, 2)}\n`);
process.exitCode = results.some((r) => r.findings > 0) ? 1 : 0;
