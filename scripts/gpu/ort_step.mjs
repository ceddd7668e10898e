// Our side of the GPU check (plain Node ESM over the compiled dist/, so it runs with the GPU kit's node and
// no tsx): (a) CUDA-vs-CPU parity of 3 train steps, (b) img/s of the method's step per execution provider
// and batch size. Runs on a CPU-only machine too: `--ep cpu --parity cpu,cpu` (see docs/PERFORMANCE.md).
//   node scripts/gpu/ort_step.mjs [--model resnet18] [--image 32] [--channels 3] [--ep cuda,cpu]
//     [--batch 256,1024] [--cpu-batch 64] [--cpu-threads N] [--cpu-k 1] [--k 1,8] [--steps 10] [--repeats 5]
//     [--bn auto|node|decomposed] [--parity cuda,cpu] [--parity-batch 32] [--json out.json]
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { benchArtifacts, benchmarkStep, openBenchSession, randomBatch } from "../../dist/training/benchmark.js";
import { TrainingSession } from "../../dist/training/session/index.js";

const { values: a } = parseArgs({
  options: {
    model: { type: "string", default: "resnet18" },
    image: { type: "string", default: "32" },
    channels: { type: "string", default: "3" },
    ep: { type: "string", default: "cuda,cpu" },
    batch: { type: "string", default: "256,1024" },
    "cpu-batch": { type: "string", default: "64" },
    "cpu-threads": { type: "string" },
    "cpu-k": { type: "string", default: "1" },
    k: { type: "string", default: "1,8" },
    steps: { type: "string", default: "10" },
    repeats: { type: "string", default: "5" },
    bn: { type: "string", default: "auto" },
    parity: { type: "string", default: "cuda,cpu" },
    "parity-batch": { type: "string", default: "32" },
    json: { type: "string" },
  },
});
const ints = (s) => s.split(",").filter(Boolean).map(Number);
const [image, channels] = [Number(a.image), Number(a.channels)];
const log = (s) => process.stderr.write(`${s}\n`);

let t = performance.now();
const build = async (batchNorm) => {
  const art = await benchArtifacts({ model: a.model, channels, imageSize: image, classes: 10, seed: 1, batchNorm });
  log(
    `artifacts: ${a.model} ${channels}x${image}x${image}, BN ${batchNorm}, ${art.manifest.nodes.trainStep} nodes, ${(performance.now() - t).toFixed(0)} ms`,
  );
  return art;
};
// onnxruntime's CUDA provider is documented (docs/artifacts.md) to refuse training-mode BatchNormalization:
// "auto" takes the decomposed form whenever CUDA is involved; "node" forces the probe below.
const cudaInvolved = a.ep.includes("cuda") || a.parity.includes("cuda");
let batchNorm = a.bn === "auto" ? (cudaInvolved ? "decomposed" : "node") : a.bn;
let artifacts = await build(batchNorm);
// Training-mode BatchNormalization may be missing from a CUDA build: probe once, else use the decomposed form.
if (batchNorm === "node" && cudaInvolved) {
  try {
    const s = await TrainingSession.create(artifacts, { executionProvider: "cuda" });
    await s.step(randomBatch([2, channels, image, image], 7), undefined, 0.01);
    await s.release();
  } catch (e) {
    if (/CUDA execution provider failed to load/.test(String(e?.message))) {
      log(`CUDA probe: ${e.message}`); // not about BN: the CUDA parts below record their errors
    } else {
      log(`BN node form failed on CUDA (${e?.message ?? e}); using the decomposed form`);
      batchNorm = "decomposed";
      t = performance.now();
      artifacts = await build(batchNorm);
    }
  }
}

// (a) parity: the same 3 steps (no input noise: each provider draws its own) on both providers.
const relErr = (x, y) => {
  let num = 0,
    den = 0;
  for (let i = 0; i < x.length; i++) {
    num += (x[i] - y[i]) ** 2;
    den += y[i] ** 2;
  }
  return Math.sqrt(num) / Math.sqrt(den || 1);
};
const flat = (m) => Float64Array.from([...m.values()].flatMap((t) => Array.from(t.data)));
let parity = null;
if (a.parity) {
  const [epA, epB] = a.parity.split(",");
  const n = Number(a["parity-batch"]);
  const batches = [0, 1, 2].map((i) => randomBatch([n, channels, image, image], 100 + i));
  const run = async (ep) => {
    const s = await TrainingSession.create(artifacts, { executionProvider: ep });
    const losses = [];
    for (const b of batches) losses.push((await s.step(b, undefined, 0.01)).loss);
    const state = s.getParameters();
    await s.release();
    return { losses, params: flat(state) };
  };
  try {
    const [ra, rb] = [await run(epA), await run(epB)];
    const p0 = flat(
      new Map(
        artifacts.manifest.state.filter((s) => s.initializer).map((s) => [s.name, artifacts.initialState.get(s.name)]),
      ),
    );
    const upd = (p) => p.map((v, i) => v - p0[i]);
    parity = {
      providers: [epA, epB],
      batch: n,
      losses: { [epA]: ra.losses, [`${epB} `]: rb.losses },
      lossRelErr: relErr(ra.losses, rb.losses),
      paramsRelErr: relErr(ra.params, rb.params),
      updateRelErr: relErr(upd(ra.params), upd(rb.params)),
    };
    parity.pass = parity.lossRelErr <= 1e-3 && parity.paramsRelErr <= 1e-3;
    log(
      `parity ${epA} vs ${epB}: loss rel err ${parity.lossRelErr.toExponential(2)}, params ${parity.paramsRelErr.toExponential(2)}, updates ${parity.updateRelErr.toExponential(2)} -> ${parity.pass ? "PASS" : "FAIL"}`,
    );
  } catch (e) {
    parity = { providers: [epA, epB], batch: n, error: String(e?.message ?? e), pass: false };
    log(`parity ${epA} vs ${epB}: FAILED ${parity.error}`);
  }
}

// (b) timings
const timings = [];
// On the CPU both with and without onnxruntime's thread spinning (off is our default; see PERFORMANCE.md).
const configs = a.ep
  .split(",")
  .filter(Boolean)
  .flatMap((ep) =>
    ep === "cpu"
      ? [
          [ep, false],
          [ep, true],
        ]
      : [[ep, false]],
  );
for (const [ep, allowSpinning] of configs) {
  const batches = ep === "cpu" ? ints(a["cpu-batch"]) : ints(a.batch);
  const common = {
    artifacts,
    executionProvider: ep,
    allowSpinning,
    intraOpThreads: ep === "cpu" && a["cpu-threads"] ? Number(a["cpu-threads"]) : undefined,
  };
  t = performance.now();
  let session;
  try {
    session = await openBenchSession(common);
    log(`ort ${ep}: session created in ${(performance.now() - t).toFixed(0)} ms`);
  } catch (e) {
    timings.push({ stack: "onnxruntime-node", model: a.model, executionProvider: ep, error: String(e?.message ?? e) });
    log(`ort ${ep}: FAILED ${e?.message ?? e}`);
    continue;
  }
  for (const batch of batches) {
    for (const k of ep === "cpu" ? ints(a["cpu-k"]) : ints(a.k)) {
      try {
        const r = await benchmarkStep({
          ...common,
          session,
          sampleDims: [channels, image, image],
          batch,
          stepsPerRun: k,
          steps: ep === "cpu" ? 3 : Number(a.steps),
          repeats: ep === "cpu" ? 3 : Number(a.repeats),
        });
        timings.push({ stack: "onnxruntime-node", model: a.model, allowSpinning, ...r });
        log(
          `ort ${ep}${allowSpinning ? " (spinning)" : ""} batch ${batch} K ${k}: ${r.msPerStep.toFixed(2)} ms/step, ${r.imagesPerSecond.toFixed(0)} img/s`,
        );
      } catch (e) {
        timings.push({
          stack: "onnxruntime-node",
          model: a.model,
          executionProvider: ep,
          batch,
          stepsPerRun: k,
          error: String(e?.message ?? e),
        });
        log(`ort ${ep} batch ${batch} K ${k}: FAILED ${e?.message ?? e}`);
      }
    }
  }
  await session.release();
}
const doc = {
  date: new Date().toISOString(),
  cpus: `${cpus().length} x ${cpus()[0]?.model}`,
  node: process.version,
  model: a.model,
  image,
  channels,
  batchNorm,
  parity,
  timings,
};
if (a.json) writeFileSync(a.json, `${JSON.stringify(doc, null, 2)}\n`);
else process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
