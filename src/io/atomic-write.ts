/**
 * Files written so that readers see either the old file or the whole new one, never half.
 *
 * - The bytes go to a temporary file `.<name>.<pid>.<time>.tmp` in the target's folder, which commit() fsyncs,
 *   renames over the target and then fsyncs the folder (so the rename itself survives a power cut).
 * - The target is checked first (src/io/paths.ts): a symbolic link is followed and the regular file it names is
 *   replaced (the link stays); a folder, device, pipe or socket is refused; the folder must exist and be writable.
 * - A file that is replaced keeps its permission bits (and, where the process may, its owner and group).
 * - Temporary files of this naming whose process is gone (SIGKILL, power cut) are removed by the next write to
 *   the same folder. SIGINT, SIGTERM or SIGHUP while a temporary file is open removes it before the process
 *   dies (when nobody else listens for the signal; a program that handles the signal itself decides), and so
 *   does any exit.
 */
import {
  closeSync,
  fchmodSync,
  fchownSync,
  fsyncSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
  type Stats,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { resolveWriteTarget } from "./paths.js";

/** Names of our temporary files: `.<target name>.<pid>.<time>.tmp`. */
const TEMP_NAME = /^\.(.+)\.(\d+)\.(\d+)\.tmp$/;

/** Temporary files this process has open, by path. */
const openTemps = new Map<string, AtomicFile>();

/**
 * A file written atomically: write() appends, commit() puts it in place, abort() removes the temporary file.
 * The constructor checks the target (UserError for a bad one) before creating anything.
 */
export class AtomicFile {
  readonly #path: string;
  readonly #tmp: string;
  readonly #fd: number;
  #bytes = 0;
  #done = false;

  constructor(path: string) {
    this.#path = resolveWriteTarget(path);
    const dir = dirname(this.#path);
    removeStaleTemps(dir);
    const old = statOrUndefined(this.#path);
    guardSignals();
    let time = Date.now();
    for (;;) {
      const tmp = join(dir, `.${basename(this.#path)}.${process.pid}.${time}.tmp`);
      try {
        this.#fd = openSync(tmp, "wx", old ? old.mode & 0o777 : 0o666);
        this.#tmp = tmp;
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        time++;
      }
    }
    openTemps.set(this.#tmp, this);
    if (old) keepOwnerAndMode(this.#fd, old);
  }

  /** The file the commit replaces (the output path with symbolic links followed). */
  get target(): string {
    return this.#path;
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.#bytes;
  }

  write(chunk: Uint8Array): void {
    if (this.#done) throw new Error(`AtomicFile: write after commit or abort (${this.#path})`);
    let off = 0;
    while (off < chunk.length) off += writeSync(this.#fd, chunk, off, chunk.length - off);
    this.#bytes += chunk.length;
  }

  commit(): void {
    if (this.#done) throw new Error(`AtomicFile: commit after commit or abort (${this.#path})`);
    try {
      fsyncSync(this.#fd);
      closeSync(this.#fd);
      renameSync(this.#tmp, this.#path);
    } catch (e) {
      this.abort();
      throw e;
    }
    this.#done = true;
    forget(this.#tmp);
    fsyncFolder(dirname(this.#path));
  }

  abort(): void {
    if (!this.#done) {
      try {
        closeSync(this.#fd);
      } catch {
        /* already closed */
      }
    }
    this.#done = true;
    rmSync(this.#tmp, { force: true });
    forget(this.#tmp);
  }
}

/** Writes `chunks` (one buffer or several, one after another) to `path` atomically. */
export function writeFileAtomic(path: string, chunks: Uint8Array | Uint8Array[]): void {
  const file = new AtomicFile(path);
  try {
    for (const c of Array.isArray(chunks) ? chunks : [chunks]) file.write(c);
  } catch (e) {
    file.abort();
    throw e;
  }
  file.commit();
}

/**
 * Removes the temporary files of our naming in `dir` whose writer is gone: its process no longer exists, or it
 * is this process and the file is not one it has open (a pid reused after a restart). Returns their names.
 */
export function removeStaleTemps(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[2]);
    const path = join(dir, name);
    const stale = pid === process.pid ? !openTemps.has(path) : !processExists(pid);
    if (!stale) continue;
    try {
      if (!statSync(path).isFile()) continue;
      rmSync(path, { force: true });
      removed.push(name);
    } catch {
      /* gone meanwhile, or not ours to remove */
    }
  }
  return removed;
}

function processExists(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** The replaced file's permission bits (umask does not apply) and, where allowed, its owner and group. */
function keepOwnerAndMode(fd: number, old: Stats): void {
  fchmodSync(fd, old.mode & 0o777);
  if (process.getuid?.() === 0) {
    try {
      fchownSync(fd, old.uid, old.gid);
    } catch {
      /* a file system without owners */
    }
  }
}

function fsyncFolder(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch (e) {
    // Some file systems (and platforms) cannot fsync a folder; the rename stands either way.
    const c = (e as NodeJS.ErrnoException).code;
    if (c !== "EINVAL" && c !== "EISDIR" && c !== "EPERM" && c !== "EBADF" && c !== "ENOTSUP") throw e;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

// --- cleaning up on signals and exit ---------------------------------------------------------------------

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
type Sig = (typeof SIGNALS)[number];
let listening = false;
let exitHook = false;

function removeAllTemps(): void {
  for (const file of [...openTemps.values()]) file.abort();
}

const handlers = Object.fromEntries(
  SIGNALS.map((sig) => [
    sig,
    () => {
      // Another listener means the program handles this signal itself (e.g. stops after the current step):
      // the process lives on, and its writes finish or abort as usual.
      if (process.listenerCount(sig) > 1) return;
      removeAllTemps();
      unlisten();
      process.kill(process.pid, sig); // the default action, now that nobody listens: the process ends by it
    },
  ]),
) as Record<Sig, () => void>;

function guardSignals(): void {
  if (!exitHook) {
    process.on("exit", removeAllTemps);
    exitHook = true;
  }
  if (listening) return;
  for (const sig of SIGNALS) process.on(sig, handlers[sig]);
  listening = true;
}

function unlisten(): void {
  if (!listening) return;
  for (const sig of SIGNALS) process.removeListener(sig, handlers[sig]);
  listening = false;
}

/**
 * Forgets a temporary file that was committed or removed. The signal listeners stay (one per signal, for the
 * process's life): removing them while idle could drop a signal that libuv had caught but not yet dispatched,
 * and the process would live on (seen as a write loop that ignored SIGINT). Idle, the listener changes nothing:
 * it finds no file, stops listening and re-raises the signal, so the process ends by it as without a listener.
 */
function forget(tmp: string): void {
  openTemps.delete(tmp);
}
