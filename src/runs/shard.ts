/**
 * Sharding N runs over processes or machines: `i/n` (1-based) takes runs i-1, i-1+n, i-1+2n, ...; `auto` reads the
 * index from a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, 0-based; the count from SHARD_COUNT or the given
 * default) or a Slurm array (SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT, ids taken relative to
 * SLURM_ARRAY_TASK_MIN, default 0). No scheduler of our own: each shard is an ordinary process.
 */
import { UserError } from "../errors.js";

export interface Shard {
  /** 0-based. */
  index: number;
  count: number;
}

export const ALL_RUNS: Shard = { index: 0, count: 1 };

export function parseShard(text: string | undefined, env: NodeJS.ProcessEnv = process.env): Shard {
  if (text === undefined) return ALL_RUNS;
  if (text === "auto") return shardFromEnvironment(env);
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new UserError(`--shard expects <i>/<n> (1-based, e.g. 2/4) or auto, got '${text}'`);
  const i = Number(m[1]);
  const n = Number(m[2]);
  if (!(n >= 1 && i >= 1 && i <= n)) throw new UserError(`--shard ${text} is out of range: expected 1 <= i <= n`);
  return { index: i - 1, count: n };
}

function shardFromEnvironment(env: NodeJS.ProcessEnv): Shard {
  const int = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v === "") return undefined;
    if (!/^\d+$/.test(v)) throw new UserError(`--shard auto: ${name}=${v} is not a whole number`);
    return Number(v);
  };
  const k8s = int("JOB_COMPLETION_INDEX");
  if (k8s !== undefined) {
    const count = int("SHARD_COUNT");
    if (count === undefined)
      throw new UserError(
        "--shard auto: JOB_COMPLETION_INDEX is set but SHARD_COUNT is not (set it to the Job's completions)",
      );
    if (k8s >= count)
      throw new UserError(`--shard auto: JOB_COMPLETION_INDEX=${k8s} is out of range for SHARD_COUNT=${count}`);
    return { index: k8s, count };
  }
  const slurm = int("SLURM_ARRAY_TASK_ID");
  if (slurm !== undefined) {
    const count = int("SLURM_ARRAY_TASK_COUNT");
    if (count === undefined)
      throw new UserError("--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not");
    const index = slurm - (int("SLURM_ARRAY_TASK_MIN") ?? 0);
    if (index < 0 || index >= count)
      throw new UserError(`--shard auto: SLURM_ARRAY_TASK_ID=${slurm} is out of range for ${count} tasks`);
    return { index, count };
  }
  throw new UserError(
    "--shard auto: neither JOB_COMPLETION_INDEX (Kubernetes Indexed Job) nor SLURM_ARRAY_TASK_ID (Slurm array) is set",
  );
}

/** The run indices (0..total-1) that `shard` takes. */
export function shardRuns(total: number, shard: Shard): number[] {
  const out: number[] = [];
  for (let r = shard.index; r < total; r += shard.count) out.push(r);
  return out;
}
