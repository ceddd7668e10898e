/**
 * Paths from untrusted places, confined; output paths, checked before any work.
 *
 * - A location read from a file (ONNX external data) is relative to a folder and must stay inside it: it may
 *   not be empty, absolute or hold a `..` segment, and after every symbolic link is resolved the real file
 *   must still lie inside the folder's real path and be a regular file.
 * - An output path is followed through symbolic links to the file it names (writing to a link replaces the
 *   regular file the link points to; the link stays); that file must be absent or a regular file (never a
 *   folder, device, pipe or socket), and its folder must exist and be writable.
 */
import { accessSync, constants, lstatSync, readlinkSync, realpathSync, statSync, type Stats } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve, sep, win32 } from "node:path";
import { UserError } from "../errors.js";

const MAX_LINK_HOPS = 40;

const code = (e: unknown): string | undefined => (e as NodeJS.ErrnoException)?.code;

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    if (code(e) === "ENOENT") return undefined;
    throw e;
  }
}

/** What is wrong with `location` as a relative path inside a folder, lexically; undefined when nothing is. */
export function locationProblem(location: string): string | undefined {
  if (location === "") return "is empty";
  if (location.includes("\0")) return "holds a NUL character";
  if (isAbsolute(location) || win32.isAbsolute(location)) return "is an absolute path";
  if (location.split(/[\\/]/).includes("..")) return "has a '..' segment";
  return undefined;
}

/** Whether `path` (already real) lies inside folder `root` (already real); the folder itself does not count. */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

export interface Confined {
  /** The real path of the file (every link resolved); set when `problem` is not. */
  path?: string;
  problem?: string;
}

/**
 * Resolves `location` inside `folder` for reading: lexical checks, then the real path (links resolved) must be
 * a regular file inside the folder's real path. Returns the real path or the problem in words.
 */
export function confineExisting(folder: string, location: string): Confined {
  const lexical = locationProblem(location);
  if (lexical) return { problem: `'${location}' escapes the model's folder (${lexical})` };
  let root: string, real: string;
  try {
    root = realpathSync(folder);
  } catch (e) {
    return { problem: `the folder '${folder}' cannot be read (${code(e) ?? String(e)})` };
  }
  try {
    real = realpathSync(resolve(root, location));
  } catch (e) {
    const why = code(e) === "ENOENT" ? "is missing" : `cannot be read (${code(e) ?? String(e)})`;
    return { problem: `'${location}' ${why}` };
  }
  if (!isInside(root, real))
    return { problem: `'${location}' leaves the model's folder through a symbolic link (to ${real})` };
  if (!statSync(real).isFile()) return { problem: `'${location}' is not a regular file` };
  return { path: real };
}

/** confineExisting, throwing a UserError about `where`. */
export function resolveInside(folder: string, location: string, where: string): string {
  const r = confineExisting(folder, location);
  if (r.problem !== undefined) throw new UserError(`external data ${r.problem}`, where);
  return r.path!;
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return "a folder";
  if (st.isCharacterDevice() || st.isBlockDevice()) return "a device";
  if (st.isFIFO()) return "a pipe";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}

/**
 * The file a write to `path` replaces: `path` with every symbolic link followed (a link to a file that does not
 * exist yet names that file), its folder as a real path. Throws a UserError naming `path` (`what`, e.g. "--out",
 * prefixes the message) when the path is empty, names a folder, device, pipe or socket, or its folder is
 * missing, not a folder or not writable.
 */
export function resolveWriteTarget(path: string, what?: string): string {
  const subject = what ? `${what} '${path}'` : path;
  const fail = (msg: string): never => {
    throw new UserError(msg, subject);
  };
  if (typeof path !== "string" || path.trim() === "") throw new UserError(`${what ?? "output path"} is empty`);
  if (path.includes("\0")) fail("holds a NUL character");
  let p = resolve(path);
  for (let hops = 0; ; hops++) {
    let st: Stats | undefined;
    try {
      st = lstatOrUndefined(p);
    } catch (e) {
      if (code(e) === "ENOTDIR") fail(`a part of the path is not a folder`);
      fail(`cannot be examined (${code(e) ?? String(e)})`);
    }
    if (!st) break;
    if (st.isSymbolicLink()) {
      if (hops >= MAX_LINK_HOPS) fail("has too many levels of symbolic links");
      p = resolve(dirname(p), readlinkSync(p));
      continue;
    }
    if (!st.isFile()) fail(`is ${kindOf(st)}${st.isDirectory() ? "; expected a file path" : ""}; not replacing it`);
    break;
  }
  const folder = dirname(p);
  let realFolder: string;
  try {
    realFolder = realpathSync(folder);
  } catch (e) {
    return fail(
      code(e) === "ENOENT"
        ? `the folder '${folder}' does not exist`
        : code(e) === "ENOTDIR"
          ? `'${folder}' is not a folder`
          : `the folder '${folder}' cannot be read (${code(e) ?? String(e)})`,
    );
  }
  if (!statSync(realFolder).isDirectory()) fail(`'${folder}' is not a folder`);
  try {
    accessSync(realFolder, constants.W_OK);
  } catch {
    fail(`the folder '${folder}' is not writable`);
  }
  return join(realFolder, basename(p));
}

/** Checks an output path before any work (see resolveWriteTarget); `what` names the option, e.g. "--out". */
export function checkOutputPath(path: string, what = "output"): void {
  resolveWriteTarget(path, what);
}

/** Whether two paths name the same file: same real path, or (both existing) the same device and inode. */
export function sameFile(a: string, b: string): boolean {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      try {
        return join(realpathSync(dirname(resolve(p))), basename(p));
      } catch {
        return resolve(p);
      }
    }
  };
  if (real(a) === real(b)) return true;
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/** An input file an output must not overwrite, with words for the message ("the weights file"). */
export interface InputFile {
  path: string;
  what: string;
}

/**
 * Refuses an output that would overwrite one of the inputs (or a file they depend on, such as a model's
 * external-data file), before any work: one UserError naming both.
 */
export function checkNotAnInput(out: string, inputs: readonly InputFile[], what = "--out"): void {
  for (const input of inputs) {
    if (sameFile(out, input.path))
      throw new UserError(
        `is ${input.what} (${input.path}), which the command reads; choose another output path`,
        `${what} '${out}'`,
      );
  }
}
