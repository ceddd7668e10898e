/**
 * One maker per run folder: a `claim` file created exclusively (O_EXCL) holding host and pid. Another process that
 * finds it leaves the run alone while its maker lives; a claim whose maker is gone (same host, dead pid) is
 * stale and taken over. Claims from another host are respected until removed (shared filesystems: docs/SCALING.md).
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

export const CLAIM_FILE = "claim";

export interface Claim {
  release(): void;
}

/** Claims `dir` for this process, or returns who holds it. */
export function claimRun(dir: string): Claim | { heldBy: string } {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, CLAIM_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, JSON.stringify({ host: hostname(), pid: process.pid, since: new Date().toISOString() }));
      closeSync(fd);
      return { release: () => rmSync(path, { force: true }) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const holder = readClaim(path);
      if (holder && !(holder.host === hostname() && !alive(holder.pid))) {
        return { heldBy: `${holder.host} pid ${holder.pid} since ${holder.since}` };
      }
      rmSync(path, { force: true }); // stale (its maker died) or unreadable: take it over
    }
  }
  return { heldBy: "another process (claim file reappeared)" };
}

/** Removes the claim of `dir` when its maker is gone (a maker killed between finishing the run and releasing it). */
export function clearStaleClaim(dir: string): void {
  const path = join(dir, CLAIM_FILE);
  const holder = readClaim(path); // undefined when there is no claim (then there is nothing to remove)
  if (holder && !(holder.host === hostname() && !alive(holder.pid))) return;
  rmSync(path, { force: true });
}

function readClaim(path: string): { host: string; pid: number; since: string } | undefined {
  try {
    const v = JSON.parse(readFileSync(path, "utf8")) as { host?: unknown; pid?: unknown; since?: unknown };
    if (typeof v.host === "string" && typeof v.pid === "number")
      return { host: v.host, pid: v.pid, since: String(v.since) };
  } catch {
    /* half-written or garbage: treated as stale */
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
