/**
 * The MIA must-show of issue #10 on the demo's models: trains the demo's original (all 12,000 training images) and
 * retrained (retain set only) models exactly as `onnx-unlearn demo` does (seed 0, 4 epochs), then runs the
 * evaluation of `eval` on both. A measurement, not a test (minutes on 2 cores):
 *     npx tsx scripts/mia-reference/demo-mia.ts [outDir]
 * EPOCHS=12 trains longer than the demo (a model that memorises more); ONLY=original skips the retrained one;
 * THREADS sets onnxruntime's intra-op threads (default 1).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { openSource, selectForget, splitTrain, type Dataset } from "../../src/data/index.js";
import { rngFor, shuffleInPlace } from "../../src/data/random.js";
import { evaluateModel } from "../../src/evaluation/eval-model.js";
import { withWeights } from "../../src/interop/with-weights.js";
import { buildZooModel } from "../../src/models/index.js";
import { saveModel, type ModelFile } from "../../src/onnx/model-io.js";
import { fitClassifier } from "../../src/training/fit.js";

const outDir = process.argv[2] ?? "runs/demo-mia";
const threads = Number(process.env.THREADS ?? 1);
const epochs = Number(process.env.EPOCHS ?? 4);
const only = process.env.ONLY;

// the demo's seeded 12,000-image subset of the train split (src/experiments/demo.ts)
function subsetTrain(ds: Dataset, size: number, seed: number): Dataset {
  const order = shuffleInPlace(
    Int32Array.from({ length: ds.train.count }, (_, i) => i),
    rngFor(seed, "demo-subset"),
  );
  return { ...ds, train: ds.train.select(order.subarray(0, size).sort()) };
}

const dataset = subsetTrain(await openSource("fashion-mnist"), 12000, 0);
const forget = selectForget(dataset, { kind: "random", fraction: 0.1 }, { seed: 0 });
const fresh = (): ModelFile => ({
  proto: buildZooModel("resnet18", { width: 8, channels: 1, classes: 10, stem: "small", imageSize: 28, seed: 0 }),
  file: "resnet18w8",
});
mkdirSync(outDir, { recursive: true });
for (const [name, data] of [
  ["original", dataset.train],
  ["retrained", splitTrain(dataset, forget).retain],
] as const) {
  if (only !== undefined && only !== name) continue;
  const t0 = performance.now();
  const start = fresh();
  const session = await fitClassifier({
    model: start,
    data,
    epochs,
    seed: 0,
    intraOpThreads: threads,
    onEpoch: (e) => console.log(`${name} epoch ${e.epoch + 1}: mean CE ${e.meanLoss.toFixed(4)}`),
  });
  const model = withWeights(start, session.getParameters());
  await session.release();
  saveModel(model, join(outDir, `${name}.onnx`));
  const r = await evaluateModel({ model, dataset, forget, intraOpThreads: threads });
  const acc = Object.entries(r.splits)
    .map(([s, v]) => `${s} ${(100 * v.accuracy).toFixed(2)}% (loss ${v.loss.toFixed(4)})`)
    .join(", ");
  const m = r.mia!;
  console.log(
    `${name}: trained+evaluated in ${((performance.now() - t0) / 1000).toFixed(0)} s; ${acc}; ` +
      `MIA ${m.accuracy.toFixed(4)} ± ${m.std.toFixed(4)} (splits ${m.min.toFixed(3)}-${m.max.toFixed(3)}, ${m.perSide} per side)`,
  );
}
