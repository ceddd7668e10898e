/**
 * The memory budget a job's peak-memory estimate must fit: given (`--memory-budget 8GiB`, or bytes), else what the
 * machine has: its memory, or the cgroup's limit when that is smaller (a container, a Kubernetes pod, a Slurm job).
 */
import { readFileSync } from "node:fs";
import { totalmem } from "node:os";
import { UserError } from "../../errors.js";
import { describeEstimate, formatBytes, type MemoryEstimate } from "./estimate.js";

export interface MemoryBudget {
  bytes: number;
  /** Where it came from, for the message. */
  source: string;
}

/** cgroup v2, then v1: the first that exists and holds a limit. */
export const CGROUP_LIMIT_FILES = ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"];

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  ki: 2 ** 10,
  kib: 2 ** 10,
  mi: 2 ** 20,
  mib: 2 ** 20,
  gi: 2 ** 30,
  gib: 2 ** 30,
  ti: 2 ** 40,
  tib: 2 ** 40,
};

/** "8GiB", "512MiB", "1.5 Gi", "8GB" (10^9), "2e9" (bytes): a positive number of bytes. */
export function parseMemorySize(text: string, flag = "--memory-budget"): number {
  const m = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  const bytes = m && unit !== undefined ? Number(m[1]) * unit : NaN;
  if (!(Number.isFinite(bytes) && bytes >= 1)) {
    throw new UserError(
      `${flag} expects a size such as 8GiB, 512MiB, 16GB or a number of bytes (units: KiB, MiB, GiB, TiB, Ki..Ti, kB, MB, GB, TB, k..T), got '${text}'`,
    );
  }
  return Math.floor(bytes);
}

/** The machine's memory, or its cgroup limit when smaller. */
export function defaultMemoryBudget(o: { totalBytes?: number; cgroupFiles?: string[] } = {}): MemoryBudget {
  const machine: MemoryBudget = { bytes: o.totalBytes ?? totalmem(), source: "the machine's memory" };
  for (const file of o.cgroupFiles ?? CGROUP_LIMIT_FILES) {
    let text: string;
    try {
      text = readFileSync(file, "utf8").trim();
    } catch {
      continue;
    }
    const limit = Number(text);
    // "max" (v2) or a huge page-rounded number (v1) means no limit
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(limit) || limit <= 0) return machine;
    return limit < machine.bytes ? { bytes: limit, source: `the cgroup limit in ${file}` } : machine;
  }
  return machine;
}

/** A given budget (bytes, or a size as --memory-budget takes it), else the default. */
export function resolveMemoryBudget(given?: number | string): MemoryBudget {
  if (given === undefined) return defaultMemoryBudget();
  const bytes = typeof given === "string" ? parseMemorySize(given) : given;
  if (!(Number.isFinite(bytes) && bytes >= 1))
    throw new UserError(`--memory-budget expects a positive number of bytes, got ${given}`);
  return { bytes, source: "--memory-budget" };
}

/** Refuses an estimate above the budget: one line with the estimate's terms and the budget. */
export function checkMemoryBudget(estimate: MemoryEstimate, budget: MemoryBudget): void {
  if (estimate.bytes <= budget.bytes) return;
  throw new UserError(
    `estimated peak memory ${describeEstimate(estimate)}; that is above the budget of ${formatBytes(budget.bytes)} ` +
      `(${budget.source}): lower the batch size, or raise --memory-budget if the estimate is too high`,
  );
}
