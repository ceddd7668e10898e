/**
 * Runs the CLI from source in its own process (`node --import tsx scripts/cli.ts ...`), for what needs separate
 * processes: shards side by side, a run killed midway. Events are read from the JSON lines on stdout.
 */
import { spawn, type ChildProcess } from "node:child_process";

export interface SpawnedCli {
  child: ChildProcess;
  /** Resolves when the process ends. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/**
 * Starts the CLI with `argv`; `onEvent` sees each JSON-lines event as it arrives. `env` adds to the environment.
 */
export function spawnCli(
  argv: string[],
  o: { env?: NodeJS.ProcessEnv; onEvent?: (e: Record<string, unknown>, child: ChildProcess) => void } = {},
): SpawnedCli {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/cli.ts", ...argv], {
    env: { ...process.env, ...o.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let pending = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line.startsWith("{")) o.onEvent?.(JSON.parse(line) as Record<string, unknown>, child);
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
    },
  );
  return { child, done };
}

/** The JSON-lines events of a finished run's stdout. */
export function eventsOf(stdout: string): Record<string, unknown>[] {
  return stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
