/** Option-value parsers shared by the commands: each names the flag and what it expected. */
import { UserError } from "../errors.js";
import type { NormalisationRequest } from "../data/index.js";
import { parseMemorySize } from "../training/memory/index.js";
import { DEFAULT_STEPS_PER_RUN } from "../index.js";

export function parseNumber(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n)) throw new UserError(`${flag} expects a number, got '${v}'`);
  return n;
}

export function parseInteger(flag: string, v: string | undefined, min = 0): number | undefined {
  const n = parseNumber(flag, v);
  if (n !== undefined && (!Number.isInteger(n) || n < min))
    throw new UserError(`${flag} expects an integer >= ${min}, got '${v}'`);
  return n;
}

export function parseNumberList(flag: string, v: string | undefined): number[] | undefined {
  return v === undefined ? undefined : v.split(",").map((s) => parseNumber(flag, s.trim())!);
}

export function parseChoice<T extends string>(
  flag: string,
  v: string | undefined,
  choices: readonly T[],
): T | undefined {
  if (v === undefined) return undefined;
  if (!choices.includes(v as T)) throw new UserError(`${flag} expects one of ${choices.join(", ")}, got '${v}'`);
  return v as T;
}

/** --ep, --threads and --memory-budget, for the commands that train or score. */
export function addRuntimeOptions<C extends { option(flags: string, description: string, dflt?: string): C }>(
  cmd: C,
): C {
  return cmd
    .option("--ep <provider>", "execution provider: cpu or cuda", "cpu")
    .option("--threads <n>", "onnxruntime intra-op threads (default: one per core)")
    .option(
      "--memory-budget <size>",
      "refuse to start when the estimated peak memory is above this: 8GiB, 512MiB, 16GB, bytes (default: the machine's memory, or its cgroup limit when smaller)",
    );
}

/** The runtime options and --steps-per-run, for the commands that train. */
export function addTrainingRuntimeOptions<C extends { option(flags: string, description: string, dflt?: string): C }>(
  cmd: C,
): C {
  return addRuntimeOptions(cmd)
    .option(
      "--steps-per-run <k>",
      `training steps per onnxruntime run: the state stays inside onnxruntime between them, a stop (Ctrl-C) waits for the run in flight; 1 runs each step on its own (default: ${DEFAULT_STEPS_PER_RUN})`,
    )
    .option(
      "--spin",
      "let onnxruntime's threads spin while they wait for work during training: faster on cores of your own (8-10% per step measured on an idle machine), slower on shared or busy ones (default: off)",
    );
}

/** The runtime flags as commander gives them. */
export interface RuntimeCliOptions {
  ep: string;
  threads?: string;
  memoryBudget?: string;
  stepsPerRun?: string;
  spin?: boolean;
}

export function parseRuntimeOptions(o: RuntimeCliOptions): {
  executionProvider: "cpu" | "cuda";
  intraOpThreads?: number;
  stepsPerRun?: number;
  allowSpinning?: boolean;
  memoryBudget?: number;
} {
  return {
    executionProvider: parseChoice("--ep", o.ep, ["cpu", "cuda"] as const)!,
    intraOpThreads: parseInteger("--threads", o.threads, 1),
    stepsPerRun: parseInteger("--steps-per-run", o.stepsPerRun, 1),
    allowSpinning: o.spin || undefined,
    memoryBudget: o.memoryBudget === undefined ? undefined : parseMemorySize(o.memoryBudget),
  };
}

/** `--normalise` as the jobs take it: none, auto (retain-set statistics), or means then stds (one pair: every channel). */
export function parseNormaliseRequest(text: string): NormalisationRequest {
  if (text === "none" || text === "auto") return text;
  const v = parseNumberList("--normalise", text)!;
  if (v.length % 2 !== 0)
    throw new UserError(`--normalise expects none, auto, <mean>,<std> or C means then C stds, got '${text}'`);
  return { mean: v.slice(0, v.length / 2), std: v.slice(v.length / 2) };
}
