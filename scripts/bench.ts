/**
 * Images per second of the method's train step (see src/training/benchmark.ts).
 *   npm run bench -- [--model resnet18|resnet18w8] [--image 32] [--channels 1|3] [--classes 10]
 *     [--batch 64,256] [--ep cpu,cuda] [--threads N] [--steps N] [--repeats N] [--k 1,8]
 *     [--opt all|extended|basic|disabled] [--spin] [--bn node|decomposed] [--no-dense] [--json out.json]
 * Defaults: resnet18w8 on 28x28x1 (the demo), resnet18 on 32x32x3; batch 64; cpu; onnxruntime's threads; K the
 * training loop's steps per run (8).
 */
import { loadavg } from "node:os";
import { Command } from "commander";
import { writeFileAtomic } from "../src/io/atomic-write.js";
import { machineSummary } from "../src/runs/index.js";
import type { BatchNormForm } from "../src/training/artifacts/index.js";
import {
  benchArtifacts,
  benchmarkStep,
  openBenchSession,
  WARMUP_STEPS,
  type StepBenchResult,
} from "../src/training/benchmark.js";
import type { ExecutionProvider, GraphOptimizationLevel } from "../src/training/session/index.js";
import { DEFAULT_STEPS_PER_RUN } from "../src/training/session/options.js";
import { optionError } from "./option-error.js";

const list = (s: string) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean);
const ints = (s: string) => list(s).map(Number);

const program = new Command("bench")
  .option("--model <name>", "resnet18 | resnet18w8", "resnet18w8")
  .option("--image <n>", "input height and width (default: 28 for resnet18w8, 32 for resnet18)")
  .option("--channels <n>", "1 or 3 (default: 1 for resnet18w8, 3 for resnet18)")
  .option("--classes <n>", "classes", "10")
  .option("--batch <list>", "batch sizes", "64")
  .option("--ep <list>", "execution providers: cpu, cuda", "cpu")
  .option("--threads <n>", "intra-op threads (default: onnxruntime's choice)")
  .option("--steps <n>", "timed steps per repeat", "5")
  .option("--repeats <n>", "timed repeats (median reported)", "3")
  .option("--warmup <n>", "untimed steps first (whole runs: rounded up to a multiple of K)", String(WARMUP_STEPS))
  .option(
    "--k <list>",
    "steps per session.run (ONNX Loop when > 1; default: the training loop's)",
    String(DEFAULT_STEPS_PER_RUN),
  )
  .option("--opt <level>", "graph optimisation level", "all")
  .option("--spin", "let onnxruntime threads spin (default: off)")
  .option("--bn <form>", "training-mode BatchNormalization form of the artifacts: node | decomposed", "node")
  .option("--no-dense", "keep the student's convs on tiny maps as Conv (default: dense Gemms, dense-convs.ts)")
  .option("--json <file>", "write the results as JSON")
  .parse(
    process.argv.slice(2).filter((a) => a !== "--"),
    { from: "user" },
  );
const o = program.opts();

/** Bad options: one line naming the option and what it expects, exit 2. */
const fail = optionError("bench");
const checkInts = (flag: string, v: string | undefined, min: number) => {
  if (v === undefined) return;
  const xs = list(v);
  if (xs.length === 0 || xs.some((x) => !/^\d+$/.test(x) || Number(x) < min))
    fail(`--${flag} expects ${min === 0 ? "non-negative" : "positive"} integers, got '${v}'`);
};
for (const flag of ["image", "channels", "classes", "batch", "threads", "steps", "repeats", "k"])
  checkInts(flag, o[flag] as string | undefined, 1);
checkInts("warmup", o.warmup as string, 0);
if (!["resnet18", "resnet18w8"].includes(o.model as string)) fail(`--model: resnet18 or resnet18w8, got '${o.model}'`);

const small = o.model === "resnet18w8";
const image = Number(o.image ?? (small ? 28 : 32));
const channels = Number(o.channels ?? (small ? 1 : 3));
const threads = o.threads === undefined ? undefined : Number(o.threads);
const started = new Date().toISOString();
const load0 = loadavg()[0]!;

const t0 = performance.now();
const artifacts = await benchArtifacts({
  model: o.model,
  channels,
  imageSize: image,
  classes: Number(o.classes),
  batchNorm: o.bn as BatchNormForm,
  denseConvs: o.dense as boolean,
});
const buildMs = performance.now() - t0;
process.stderr.write(
  `${o.model} ${channels}x${image}x${image}: artifacts built in ${buildMs.toFixed(0)} ms (${artifacts.manifest.nodes.trainStep} train-step nodes)\n`,
);

const results: StepBenchResult[] = [];
for (const ep of list(o.ep) as ExecutionProvider[]) {
  const common = {
    artifacts,
    executionProvider: ep,
    intraOpThreads: threads,
    graphOptimizationLevel: o.opt as GraphOptimizationLevel,
    allowSpinning: !!o.spin,
  };
  const session = await openBenchSession(common);
  for (const batch of ints(o.batch)) {
    for (const k of ints(o.k)) {
      const r = await benchmarkStep({
        ...common,
        session,
        sampleDims: [channels, image, image],
        batch,
        stepsPerRun: k,
        steps: Number(o.steps),
        repeats: Number(o.repeats),
        warmupRuns: Math.ceil(Number(o.warmup) / k),
      });
      results.push(r);
      process.stderr.write(
        `  ${ep} batch ${batch} k ${k}: ${r.msPerStep.toFixed(1)} ms/step, ${r.imagesPerSecond.toFixed(0)} img/s (repeats ${r.repeatsMsPerStep.map((x) => x.toFixed(0)).join("/")} ms)\n`,
      );
    }
  }
  await session.release();
}

const header = "| ep | batch | K | ms/step | img/s | CPU ms/step | peak RSS MiB |";
const rows = results.map(
  (r) =>
    `| ${r.executionProvider} | ${r.batch} | ${r.stepsPerRun} | ${r.msPerStep.toFixed(1)} | ${r.imagesPerSecond.toFixed(0)} | ${r.cpuMsPerStep.toFixed(0)} | ${r.peakRssMiB.toFixed(0)} |`,
);
const machine = machineSummary();
const load1 = loadavg()[0]!;
process.stdout.write(
  [
    `${started} ${o.model} ${channels}x${image}x${image}, ${o.classes} classes, threads ${threads ?? "default"}, opt ${o.opt}, spinning ${o.spin ? "on" : "off"}, BN ${o.bn}`,
    `machine: ${machine}; load average ${load0.toFixed(1)} -> ${load1.toFixed(1)}`,
    header,
    "|---|---|---|---|---|---|---|",
    ...rows,
    "",
  ].join("\n"),
);
if (o.json) {
  const doc = {
    started,
    model: o.model,
    image,
    channels,
    classes: Number(o.classes),
    threads: threads ?? null,
    spinning: !!o.spin,
    batchNorm: o.bn,
    denseConvs: artifacts.manifest.denseConvs ?? [],
    machine,
    loadAverage: [load0, load1],
    artifactsBuildMs: buildMs,
    results,
  };
  writeFileAtomic(o.json, new TextEncoder().encode(`${JSON.stringify(doc, null, 2)}\n`));
}
