/**
 * Seed documents of the JSON fuzz targets (run-folder manifests, unlearn --config files, score --confs files), and
 * the check a resolved config must pass: the config target holds what resolveUnlearnConfig returns to it, not only
 * that it returns.
 */
import { LOSSES, METHODS, REINIT_MODES, EXCLUSIONS, type UnlearnConfig } from "../../src/unlearning/config.js";
import { INIT_SCHEMES } from "../../src/unlearning/reinit.js";
import { learningRate } from "../../src/unlearning/schedule.js";

type Manifest = Record<string, unknown>;

/** From the shipped model's manifest (a train run): an unlearn run, a second run of its group, a retrained run. */
export function manifestSeeds(train: Manifest) {
  const hash = (c: string) => c.repeat(64);
  const unlearn: Manifest = {
    ...train,
    kind: "unlearn",
    method: "stochastic",
    run: { index: 0, of: 2, seed: 1000, forgetSeed: 0 },
    input: { model: "models/fmnist-5k/model.onnx", sha256: hash("7") },
    output: { model: "model.onnx", sha256: hash("a") },
    forget: { spec: "random:500", count: 500, idsSha256: hash("f") },
    retain: { count: 4500, idsSha256: hash("e") },
    config: {
      method: "stochastic",
      epochs: [1, 2, 2],
      layers: [3, 3, 3],
      schedule: { kind: "cosine", lr: 0.01, tMax: 2 },
      batchSize: 64,
      normalisation: { mean: [0.286], std: [0.353] },
      maxStepsPerEpoch: null,
    },
    reinitialised: [{ cycle: 0, draws: ["layer1.0.conv1"], layers: ["layer1.0.conv1"] }],
    resumed: [{ epoch: 1, step: 3, stepCount: 80 }],
    notes: ["a note"],
  };
  const second: Manifest = {
    ...unlearn,
    run: { index: 1, of: 2, seed: 1001, forgetSeed: 0 },
    output: { model: "model.onnx", sha256: hash("b") },
  };
  const retrained: Manifest = {
    ...train,
    run: { index: 0, of: 2, seed: 100, forgetSeed: 0 },
    output: { model: "model.onnx", sha256: hash("c") },
    forget: unlearn.forget,
    retain: unlearn.retain,
    config: { ...(train.config as Manifest), trainedOn: "retain" },
  };
  return { train, unlearn, second, retrained };
}

export const CONFIG_SEEDS: unknown[] = [
  { preset: "algo1" },
  { preset: "algo2", layers: "6,6,3,3" },
  { epochs: [1, 2, 2], layers: 6, schedule: "cosine:0.001:2", sigma: 0.01, loss: "mse", exclude: ["classifier"] },
  { method: "finetune", epochs: "5", schedule: { kind: "cosine", lr: 0.01, tMax: 5 } },
  { method: "neggrad", batchSize: 32, weightDecay: 0, momentum: 0.5 },
  {
    reinit: "all-body",
    exclude: "none",
    init: "pytorch-default",
    schedule: { kind: "per-epoch", rates: [0.1, 0.01, 0.01, 0.001, 0.001] },
  },
  { reinit: "none", loss: "ce", schedule: "constant:0.01", epochs: [3] },
];

const confs = (n: number, s: number, seed: number) =>
  Array.from({ length: n }, (_, i) => Array.from({ length: s }, (_, j) => Math.sin(seed + 7 * i + 3 * j) * 4));
export const CONFS_SEEDS: unknown[] = [
  {
    unlearned_confs: confs(3, 6, 1),
    retrained_confs: confs(3, 6, 2),
    unlearned_retain_acc: [91.2, 90.5, 92],
    unlearned_test_acc: [87, 86.5, 87.25],
    retrained_retain_acc: [100, 100, 99.9],
    retrained_test_acc: [88, 87.5, 88.25],
  },
  {
    unlearned_confs: confs(2, 3, 3),
    retrained_confs: confs(2, 3, 4),
    unlearned_retain_acc: [50, 60],
    unlearned_test_acc: [40, 45],
    retrained_retain_acc: [55, 65],
    retrained_test_acc: [42, 44],
  },
];

/** What every resolved config must satisfy; throws a plain Error (a fuzz finding) naming the first violation. */
export function checkResolvedConfig(c: UnlearnConfig): void {
  const ints = (v: unknown, min: number) => Array.isArray(v) && v.every((x) => Number.isSafeInteger(x) && x >= min);
  const finite = (x: unknown, ok: (x: number) => boolean) => typeof x === "number" && Number.isFinite(x) && ok(x);
  const problems = [
    METHODS.includes(c.method) ? "" : `method ${String(c.method)}`,
    ints(c.epochs, 0) && c.epochs.length > 0 && c.epochs.some((e) => e > 0) ? "" : `epochs ${JSON.stringify(c.epochs)}`,
    ints(c.layers, 0) && c.layers.length === c.epochs.length ? "" : `layers ${JSON.stringify(c.layers)}`,
    Number.isSafeInteger(c.batchSize) && c.batchSize >= 1 ? "" : `batchSize ${c.batchSize}`,
    finite(c.momentum, (x) => x >= 0 && x < 1) ? "" : `momentum ${c.momentum}`,
    finite(c.weightDecay, (x) => x >= 0) ? "" : `weightDecay ${c.weightDecay}`,
    finite(c.sigma, (x) => x >= 0) ? "" : `sigma ${c.sigma}`,
    LOSSES.includes(c.loss) ? "" : `loss ${String(c.loss)}`,
    REINIT_MODES.includes(c.reinit) ? "" : `reinit ${String(c.reinit)}`,
    Array.isArray(c.exclude) && c.exclude.every((e) => EXCLUSIONS.includes(e))
      ? ""
      : `exclude ${JSON.stringify(c.exclude)}`,
    INIT_SCHEMES.includes(c.init) ? "" : `init ${String(c.init)}`,
  ].filter(Boolean);
  // every step's rate: finite and >= 0 (the first 1,000 epochs of the run, three points of each)
  let globalEpoch = 0;
  for (let cycle = 0; cycle < c.epochs.length && globalEpoch < 1000; cycle++) {
    for (let e = 0; e < c.epochs[cycle]! && globalEpoch < 1000; e++, globalEpoch++) {
      for (const progress of [0, 0.5, 0.999]) {
        const lr = learningRate(c.schedule, { globalEpoch, epochInCycle: e, progress });
        if (!finite(lr, (x) => x >= 0))
          problems.push(`learning rate ${lr} at epoch ${globalEpoch + 1} (${JSON.stringify(c.schedule)})`);
      }
    }
  }
  if (problems.length) throw new Error(`resolved config accepted with ${problems.slice(0, 3).join("; ")}`);
}
