/**
 * Where the train step's time goes, and which of it a second thread speeds up: onnxruntime's own profiler
 * over the method's step (scripts/bench.ts's step: teacher + student + MSE + SGD, noise inside) at each
 * thread count, aggregated per op type: milliseconds per step, share of the step, and the speed-up from the
 * fewest threads. The rows that barely speed up are where the extra cores idle.
 * With --k K (> 1) the step runs as the training loop runs it, K steps per onnxruntime run (the ONNX Loop of
 * stepMany): the body's nodes are counted per step, the Loop node itself (which contains them) is not.
 * With --nodes N it also lists the N slowest nodes (at the most threads) with their speed-up; with --groups the
 * time per part of the step (node-name prefixes: teacher, conv gradients, BatchNorm backward, SGD, ...).
 * --json writes the per-op, per-node and per-part tables; --tree profiles the step as another checkout's code
 * builds it (its artifacts, noise and K-step Loop; the session options and the timing are this checkout's),
 * which scripts/perf/profile-ab.ts uses to compare two trees node by node.
 *   npm run profile:step -- [--model resnet18|resnet18w8] [--batch 64] [--threads 1,2] [--steps 4] [--top 15]
 *     [--nodes 0] [--groups] [--k 1] [--tree <checkout>] [--json out.json]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { cpuSummary, runHost } from "../src/runs/index.js";
import { join } from "node:path";
import { Command } from "commander";
import { InferenceSession, Tensor as OrtTensor } from "onnxruntime-node";
import { writeFileAtomic } from "../src/io/atomic-write.js";
import type { encodeModel as EncodeModel } from "../src/onnx/proto.js";
import { randomBatch, type benchArtifacts as BenchArtifacts } from "../src/training/benchmark.js";
import type { withInputNoise as WithInputNoise } from "../src/training/session/input-noise.js";
import type { buildMultiStep as BuildMultiStep } from "../src/training/session/multi-step.js";
import { resolveOptions, sessionOptions } from "../src/training/session/options.js";
import { toOrt } from "../src/training/ort-tensor.js";
import { optionError } from "./option-error.js";
import { importFrom } from "./perf/checkout.js";

const o = new Command("profile:step")
  .option("--model <name>", "resnet18 (32x32x3) | resnet18w8 (28x28x1)", "resnet18")
  .option("--batch <n>", "batch size", "64")
  .option("--threads <list>", "intra-op thread counts", "1,2")
  .option("--steps <n>", "profiled steps (after 2 warm-up runs; rounded up to whole runs of K)", "4")
  .option("--k <n>", "steps per onnxruntime run (the training loop's Loop when > 1)", "1")
  .option("--top <n>", "op types listed", "15")
  .option("--nodes <n>", "also list the n slowest nodes (at the most threads) with their speed-up", "0")
  .option("--groups", "also list the time per part of the step (teacher, conv gradients, BatchNorm backward, SGD, ...)")
  .option("--spin", "let onnxruntime's threads spin while they wait (default: off, as in the training loop)")
  .option("--tree <dir>", "the checkout whose code builds the step (default: this one)")
  .option("--json <file>", "write the per-op, per-node and per-part tables as JSON")
  .parse(
    process.argv.slice(2).filter((a) => a !== "--"),
    { from: "user" },
  )
  .opts();

const fail = optionError("profile:step");
if (!["resnet18", "resnet18w8"].includes(o.model)) fail(`--model: resnet18 or resnet18w8, got '${o.model}'`);
const int = (flag: string, v: string) =>
  Number.isInteger(Number(v)) && Number(v) > 0 ? Number(v) : fail(`--${flag} expects positive integers, got '${v}'`);
const threads = String(o.threads)
  .split(",")
  .map((t) => int("threads", t.trim()))
  .sort((a, b) => a - b);
const batch = int("batch", o.batch);
const k = int("k", o.k);
const runs = Math.ceil(int("steps", o.steps) / k);
const steps = runs * k;
const small = o.model === "resnet18w8";
const sample = small ? [1, 28, 28] : [3, 32, 32];

// The step's graphs come from the --tree checkout's code (typed as this checkout's); everything else is this one's.
const tree = o.tree ?? join(import.meta.dirname, "..");
const from = async <T>(path: string, name: string): Promise<T> =>
  ((await importFrom(tree, path)) as Record<string, T>)[name]!;
const benchArtifacts = await from<typeof BenchArtifacts>("src/training/benchmark.ts", "benchArtifacts");
const withInputNoise = await from<typeof WithInputNoise>("src/training/session/input-noise.ts", "withInputNoise");
const buildMultiStep = await from<typeof BuildMultiStep>("src/training/session/multi-step.ts", "buildMultiStep");
const encodeModel = await from<typeof EncodeModel>("src/onnx/proto.ts", "encodeModel");
const artifacts = await benchArtifacts({ model: o.model, channels: sample[0]!, imageSize: sample[1]!, classes: 10 });
const m = artifacts.manifest;
const trainStep = withInputNoise(artifacts.trainStep, m.inputs.batch, { std: 0.01, seed: 0 });
const multi = k > 1 ? buildMultiStep(trainStep, m) : undefined;
const bytes = encodeModel(multi?.model ?? trainStep);
/** A body node's name inside the Loop carries the body's prefix: the groups below match the step's own names. */
const stepName = (node: string) => (multi ? node.replace(/^step\//, "") : node);

interface OpRow {
  op: string;
  nodes: number;
  ms: Record<number, number>;
}
const perOp = new Map<string, OpRow>();
const perNode = new Map<string, OpRow>();
const perGroup = new Map<string, OpRow>();
/** The part of the step a node belongs to, from the names the artifacts and the autograd engine give. */
const GROUPS: [string, RegExp][] = [
  ["SGD update", /^sgd\//],
  ["state check", /^state_check\//],
  ["teacher forward", /^teacher\//],
  ["BatchNorm running statistics", /BatchNormalization\/running|^batchnorm\/running\//],
  ["BatchNorm backward", /BatchNormalization\/grad/],
  ["BatchNorm forward", /BatchNormalization/],
  ["ReLU backward", /Relu.*\/grad/],
  ["conv gradients", /Conv.*\/grad/],
  ["student forward convs", /Conv/],
  ["max-pool backward", /MaxPool.*\/grad/],
];
const groupOf = (node: string) => GROUPS.find(([, re]) => re.test(node))?.[0] ?? "the rest";
const wall: Record<number, number> = {};
const nodeSum: Record<number, number> = {};
const dir = mkdtempSync(join(tmpdir(), "profile-step-"));
const load0 = loadavg()[0]!;
try {
  for (const t of threads) {
    const opts = sessionOptions(resolveOptions({ intraOpThreads: t, allowSpinning: !!o.spin }), "cpu");
    const session = await InferenceSession.create(bytes, {
      ...opts,
      enableProfiling: true,
      profileFilePrefix: join(dir, `t${t}`),
    });
    const feeds: Record<string, OrtTensor> = {};
    for (const s of m.state) feeds[s.name] = toOrt(artifacts.initialState.get(s.name)!);
    if (multi) {
      feeds[multi.names.batches] = toOrt(randomBatch([k, batch, ...sample], 1));
      feeds[multi.names.lrs] = new OrtTensor("float32", new Float32Array(k).fill(0.001), [k]);
    } else {
      feeds[m.inputs.batch] = toOrt(randomBatch([batch, ...sample], 1));
      feeds[m.inputs.lr] = new OrtTensor("float32", new Float32Array([0.001]), []);
    }
    for (let i = 0; i < 2; i++) await session.run(feeds);
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) await session.run(feeds);
    wall[t] = (performance.now() - t0) / steps;
    session.endProfiling();
    await session.release();
    const file = join(dir, readdirSync(dir).find((f) => f.startsWith(`t${t}_`)) ?? fail(`no profile for ${t} threads`));
    const events = JSON.parse(readFileSync(file, "utf8")) as {
      cat: string;
      name: string;
      dur: number;
      args?: { op_name?: string };
    }[];
    const kernels = events.filter(
      (e) => e.cat === "Node" && e.name.endsWith("_kernel_time") && !(multi && e.args?.op_name === "Loop"),
    );
    // the last `runs` runs: every run executes the same nodes
    const perRun = kernels.length / (runs + 2);
    const timed = kernels.slice(kernels.length - perRun * runs);
    nodeSum[t] = timed.reduce((a, e) => a + e.dur, 0) / 1000 / steps;
    for (const e of timed) {
      const op = e.args?.op_name ?? "?";
      const row = perOp.get(op) ?? { op, nodes: 0, ms: {} };
      row.ms[t] = (row.ms[t] ?? 0) + e.dur / 1000 / steps;
      if (t === threads[0]) row.nodes += 1 / steps;
      perOp.set(op, row);
      const key = `${op} ${stepName(e.name.slice(0, -"_kernel_time".length))}`;
      const n = perNode.get(key) ?? { op: key, nodes: 1, ms: {} };
      n.ms[t] = (n.ms[t] ?? 0) + e.dur / 1000 / steps;
      perNode.set(key, n);
      const group = groupOf(stepName(e.name));
      const gr = perGroup.get(group) ?? { op: group, nodes: 0, ms: {} };
      gr.ms[t] = (gr.ms[t] ?? 0) + e.dur / 1000 / steps;
      if (t === threads[0]) gr.nodes += 1 / steps;
      perGroup.set(group, gr);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const [t1, tN] = [threads[0]!, threads.at(-1)!];
const rows = [...perOp.values()].sort((a, b) => (b.ms[tN] ?? 0) - (a.ms[tN] ?? 0));
const f1 = (x: number | undefined) => (x === undefined ? "-" : x.toFixed(1));
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "-");
const lines = [
  `${new Date().toISOString()} ${o.model}, batch ${batch}, ${steps} profiled steps, ${k} per run; ${cpuSummary(runHost())}; load average ${f2(load0)} -> ${f2(loadavg()[0]!)}`,
  "",
  `| op | nodes | ${threads.map((t) => `ms/step at ${t}`).join(" | ")} | share at ${tN} | speed-up ${t1} -> ${tN} |`,
  `|---|---|${threads.map(() => "---|").join("")}---|---|`,
  ...rows
    .slice(0, int("top", o.top))
    .map(
      (r) =>
        `| ${r.op} | ${Math.round(r.nodes)} | ${threads.map((t) => f1(r.ms[t])).join(" | ")} | ${f2((100 * (r.ms[tN] ?? 0)) / nodeSum[tN]!)}% | ${f2((r.ms[t1] ?? NaN) / (r.ms[tN] ?? NaN))}x |`,
    ),
  `| all nodes | ${Math.round(rows.reduce((a, r) => a + r.nodes, 0))} | ${threads.map((t) => f1(nodeSum[t])).join(" | ")} | 100% | ${f2(nodeSum[t1]! / nodeSum[tN]!)}x |`,
  `| wall per step (profiling on) | | ${threads.map((t) => f1(wall[t])).join(" | ")} | | ${f2(wall[t1]! / wall[tN]!)}x |`,
  "",
];
const nodeCount = Number(o.nodes);
if (!Number.isInteger(nodeCount) || nodeCount < 0) fail(`--nodes expects a non-negative integer, got '${o.nodes}'`);
if (nodeCount > 0)
  lines.push(
    `| node | ${threads.map((t) => `ms/step at ${t}`).join(" | ")} | speed-up ${t1} -> ${tN} |`,
    `|---|${threads.map(() => "---|").join("")}---|`,
    ...[...perNode.values()]
      .sort((a, b) => (b.ms[tN] ?? 0) - (a.ms[tN] ?? 0))
      .slice(0, nodeCount)
      .map(
        (r) =>
          `| ${r.op} | ${threads.map((t) => f1(r.ms[t])).join(" | ")} | ${f2((r.ms[t1] ?? NaN) / (r.ms[tN] ?? NaN))}x |`,
      ),
    "",
  );
if (o.groups)
  lines.push(
    `| part of the step | nodes | ${threads.map((t) => `ms/step at ${t}`).join(" | ")} | speed-up ${t1} -> ${tN} |`,
    `|---|---|${threads.map(() => "---|").join("")}---|`,
    ...[...perGroup.values()]
      .sort((a, b) => (b.ms[tN] ?? 0) - (a.ms[tN] ?? 0))
      .map(
        (r) =>
          `| ${r.op} | ${Math.round(r.nodes)} | ${threads.map((t) => f1(r.ms[t])).join(" | ")} | ${f2((r.ms[t1] ?? NaN) / (r.ms[tN] ?? NaN))}x |`,
      ),
    "",
  );
process.stdout.write(lines.join("\n"));
if (o.json)
  writeFileAtomic(
    o.json,
    new TextEncoder().encode(
      `${JSON.stringify({ tree, model: o.model, batch, steps, k, load: [load0, loadavg()[0]], threads, wall, nodeSum, rows, nodes: [...perNode.values()], groups: [...perGroup.values()] }, null, 2)}\n`,
    ),
  );
