/**
 * The one home of the unlearning options: each method's defaults, the named presets of method.md, and the one
 * validation every entry point (API, CLI flags, --config files) goes through. Unknown keys are named.
 *
 * A run is a few forget-remember cycles: each cycle re-initialises layers (`reinit`, `layers` draws from the
 * pool left after `exclude`), then trains `epochs[c]` epochs on the retain set with `loss` (MSE to the original's
 * logits, or cross-entropy to the labels) on images with Gaussian noise `sigma`. `finetune` is one cycle with
 * no re-initialisation, cross-entropy and no noise; `neggrad` ascends the cross-entropy on the forget set.
 */
import { UserError } from "../errors.js";
import { shortJson } from "../short-json.js";
import { INIT_SCHEMES, type InitScheme } from "./reinit.js";
import { parseSchedule, type Schedule } from "./schedule.js";

export const METHODS = ["stochastic", "finetune", "neggrad"] as const;
export type MethodName = (typeof METHODS)[number];
export const REINIT_MODES = ["random", "none", "all-body"] as const;
/** random: `layers` draws with replacement from the pool; all-body: every pool layer; none: nothing. */
export type ReinitMode = (typeof REINIT_MODES)[number];
export const EXCLUSIONS = ["classifier", "shortcuts"] as const;
export type Exclusion = (typeof EXCLUSIONS)[number];
export const LOSSES = ["mse", "ce"] as const;
export type UnlearnLoss = (typeof LOSSES)[number];

export interface UnlearnConfig {
  method: MethodName;
  /** Epochs of each cycle; its length is the number of cycles. */
  epochs: number[];
  /** Layer draws of each cycle (one per cycle). */
  layers: number[];
  schedule: Schedule;
  batchSize: number;
  momentum: number;
  weightDecay: number;
  /** Gaussian input noise std, after normalisation (0: none). */
  sigma: number;
  loss: UnlearnLoss;
  reinit: ReinitMode;
  /** Layer roles kept out of the re-initialisation pool. */
  exclude: Exclusion[];
  init: InitScheme;
}

/**
 * The default of `unlearn`: one forget-remember cycle of 5 epochs (cosine from 0.01 to 0 over the cycle) after
 * re-initialising k = 6 draws from the pool. It scored best on the fmnist-5k benchmark (ResNet-18 at width 8, N = 16:
 * F 0.104 / final 0.099 against 0.098 / 0.088 for the paper's three cycles at k = 3, rate 0.01, and 0.063 / 0.043
 * for the paper's algo1; the sweep is in docs/RESULTS.md). `--preset algo1` is the paper's own setting ([1, 2, 2]
 * epochs, k = 6, rate 0.001), the starting point for a ResNet-18 at full width.
 */
const STOCHASTIC: UnlearnConfig = {
  method: "stochastic",
  epochs: [5],
  layers: [6],
  schedule: { kind: "cosine", lr: 0.01, tMax: 5 },
  batchSize: 64,
  momentum: 0.9,
  weightDecay: 5e-4,
  sigma: 0.01,
  loss: "mse",
  reinit: "random",
  exclude: ["classifier", "shortcuts"],
  init: "torchvision",
};

/** Each method's defaults. finetune: the challenge's baseline (1 epoch, SGD 1e-3, cosine, batch 64). */
export const METHOD_DEFAULTS: Record<MethodName, UnlearnConfig> = {
  stochastic: STOCHASTIC,
  finetune: {
    ...STOCHASTIC,
    method: "finetune",
    epochs: [1],
    layers: [0],
    schedule: { kind: "cosine", lr: 0.001, tMax: 1 },
    sigma: 0,
    loss: "ce",
    reinit: "none",
  },
  neggrad: {
    ...STOCHASTIC,
    method: "neggrad",
    epochs: [1],
    layers: [0],
    schedule: { kind: "cosine", lr: 0.001, tMax: 1 },
    weightDecay: 0,
    sigma: 0,
    loss: "ce",
    reinit: "none",
  },
};

/** Named presets (method.md): algo1 = the paper's Algo 1 (3 cycles, k = 6, rate 1e-3), algo2 = 4 cycles with per-epoch rates. */
export const PRESETS: Record<string, Partial<UnlearnConfig> & { method: MethodName }> = {
  algo1: { method: "stochastic", epochs: [1, 2, 2], layers: [6], schedule: { kind: "cosine", lr: 0.001, tMax: 2 } },
  algo2: {
    method: "stochastic",
    epochs: [2, 1, 1, 1],
    layers: [6],
    schedule: { kind: "per-epoch", rates: [0.0005, 0.001, 0.001, 0.001, 0.001] },
  },
  finetune: { method: "finetune" },
  neggrad: { method: "neggrad" },
};

/** What a caller may give: any config field, numbers/lists/schedules as values or as CLI-style text. */
export type UnlearnConfigInput = { preset?: string } & {
  [K in keyof UnlearnConfig]?: UnlearnConfig[K] | string | number;
};

export const CONFIG_KEYS = ["preset", ...Object.keys(STOCHASTIC)] as const;

/**
 * The full config: method defaults, then the preset, then `given` (later wins). `source` names where the values
 * came from in messages (a --config file, "options").
 */
export function resolveUnlearnConfig(given: UnlearnConfigInput, source = "options"): UnlearnConfig {
  checkConfigKeys(given, source);
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as UnlearnConfigInput;
  let preset: Partial<UnlearnConfig> = {};
  if (defined.preset !== undefined) {
    const p = Object.hasOwn(PRESETS, String(defined.preset)) ? PRESETS[String(defined.preset)] : undefined;
    if (!p)
      throw new UserError(`unknown preset '${defined.preset}'; presets: ${Object.keys(PRESETS).join(", ")}`, source);
    preset = p;
  }
  const method = oneOf("method", defined.method ?? preset.method ?? "stochastic", METHODS, source);
  const base = METHOD_DEFAULTS[method];
  const pick = <K extends keyof UnlearnConfig>(k: K) =>
    (defined[k] ?? preset[k]) as UnlearnConfig[K] | string | number | undefined;
  const epochs = intList("epochs", pick("epochs") ?? base.epochs, 0, source);
  if (epochs.length === 0) throw new UserError("epochs: expected at least one cycle", source);
  if (epochs.every((e) => e === 0))
    throw new UserError("epochs: every cycle has 0 epochs; nothing would be trained", source);
  const layersGiven = intList("layers", pick("layers") ?? base.layers, 0, source);
  const layers = broadcast("layers", layersGiven, epochs.length, source);
  const totalEpochs = epochs.reduce((a, b) => a + b, 0);
  const schedule = scheduleOf(pick("schedule") ?? defaultSchedule(base, method, epochs), source);
  if (schedule.kind === "per-epoch" && schedule.rates.length < totalEpochs) {
    throw new UserError(`schedule: per-epoch gives ${schedule.rates.length} rates for ${totalEpochs} epochs`, source);
  }
  const config: UnlearnConfig = {
    method,
    epochs,
    layers,
    schedule,
    batchSize: int("batchSize", pick("batchSize") ?? base.batchSize, 1, source),
    momentum: num("momentum", pick("momentum") ?? base.momentum, (x) => x >= 0 && x < 1, "in [0, 1)", source),
    weightDecay: num("weightDecay", pick("weightDecay") ?? base.weightDecay, (x) => x >= 0, ">= 0", source),
    sigma: num("sigma", pick("sigma") ?? base.sigma, (x) => x >= 0, ">= 0", source),
    loss: oneOf("loss", pick("loss") ?? base.loss, LOSSES, source),
    reinit: oneOf("reinit", pick("reinit") ?? base.reinit, REINIT_MODES, source),
    exclude: exclusions(pick("exclude") ?? base.exclude, source),
    init: oneOf("init", pick("init") ?? base.init, INIT_SCHEMES, source),
  };
  if (config.reinit === "random" && config.layers.every((k) => k === 0)) {
    throw new UserError(
      "layers: 0 draws in every cycle with reinit random; use reinit none to skip re-initialisation",
      source,
    );
  }
  if (method === "neggrad" && config.loss !== "ce")
    throw new UserError("neggrad ascends the cross-entropy: loss must be ce", source);
  return config;
}

/** Every key of `given` must be a config key; the unknown ones are named together. */
export function checkConfigKeys(given: object, source = "options"): void {
  const unknown = Object.keys(given).filter((k) => !(CONFIG_KEYS as readonly string[]).includes(k));
  if (unknown.length) {
    throw new UserError(
      `unknown option${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `'${k}'`).join(", ")}; known: ${CONFIG_KEYS.join(", ")}`,
      source,
    );
  }
}

/**
 * Unless a schedule is given, the cosine anneals to 0 over what it covers: finetune/neggrad over the whole run, the
 * stochastic cycles (restarted every cycle) over the longest cycle.
 */
function defaultSchedule(base: UnlearnConfig, method: MethodName, epochs: number[]): Schedule {
  if (base.schedule.kind !== "cosine") return base.schedule;
  const tMax = method === "stochastic" ? Math.max(...epochs) : epochs.reduce((a, b) => a + b, 0);
  return { ...base.schedule, tMax };
}

function scheduleOf(v: unknown, source: string): Schedule {
  if (typeof v === "string") return parseSchedule(v);
  const s = v as Schedule;
  if (s && typeof s === "object" && (s.kind === "cosine" || s.kind === "constant" || s.kind === "per-epoch")) {
    const rates = s.kind === "per-epoch" ? s.rates : s.kind === "cosine" ? [s.lr, s.tMax] : [s.lr];
    const ok = Array.isArray(rates) && rates.every((r) => typeof r === "number" && Number.isFinite(r) && r >= 0);
    if (ok && (s.kind !== "cosine" || s.tMax > 0)) return s;
  }
  throw new UserError(
    `schedule: expected cosine:<lr>[:<tMax>], per-epoch:<lr>,... or constant:<lr>, got ${shortJson(v)}`,
    source,
  );
}

function intList(key: string, v: unknown, min: number, source: string): number[] {
  const list =
    typeof v === "string" ? v.split(",").map((s) => (s.trim() === "" ? NaN : Number(s))) : Array.isArray(v) ? v : [v];
  if (!list.every((x) => Number.isSafeInteger(x) && (x as number) >= min)) {
    throw new UserError(
      `${key}: expected whole numbers >= ${min} (one or a comma-separated list), got ${shortJson(v)}`,
      source,
    );
  }
  return list as number[];
}

function broadcast(key: string, list: number[], cycles: number, source: string): number[] {
  if (list.length === 1) return Array<number>(cycles).fill(list[0]!);
  if (list.length !== cycles)
    throw new UserError(
      `${key}: ${list.length} values for ${cycles} cycle${cycles === 1 ? "" : "s"}; give one or one per cycle`,
      source,
    );
  return list;
}

function int(key: string, v: unknown, min: number, source: string): number {
  const x = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  if (!(Number.isSafeInteger(x) && (x as number) >= min))
    throw new UserError(`${key}: expected a whole number >= ${min}, got ${shortJson(v)}`, source);
  return x as number;
}

function num(key: string, v: unknown, ok: (x: number) => boolean, what: string, source: string): number {
  const x = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  if (!(typeof x === "number" && Number.isFinite(x) && ok(x)))
    throw new UserError(`${key}: expected a number ${what}, got ${shortJson(v)}`, source);
  return x;
}

function oneOf<T extends string>(key: string, v: unknown, choices: readonly T[], source: string): T {
  if (!choices.includes(v as T))
    throw new UserError(`${key}: expected one of ${choices.join(", ")}, got ${shortJson(v)}`, source);
  return v as T;
}

function exclusions(v: unknown, source: string): Exclusion[] {
  const list = typeof v === "string" ? (v === "none" ? [] : v.split(",").map((s) => s.trim())) : v;
  if (!Array.isArray(list))
    throw new UserError(`exclude: expected a list of ${EXCLUSIONS.join(", ")} or none, got ${shortJson(v)}`, source);
  return [...new Set(list.map((x) => oneOf("exclude", x, EXCLUSIONS, source)))].sort();
}
