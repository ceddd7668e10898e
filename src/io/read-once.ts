/**
 * Reading a file that many records point into (an ONNX external-data file holds every large tensor of a model)
 * once, not once per record: the bytes are kept behind a WeakRef, so they stay while someone still uses them (a
 * synchronous loop over the tensors always sees them) and the garbage collector may drop them afterwards. A
 * changed file (other size, modification time or inode) is read again.
 */
import { readFileSync, statSync } from "node:fs";

const cache = new Map<string, { stamp: string; bytes: WeakRef<Buffer> }>();

/** The bytes of the file at `path` (a real path), read from disk only when not held already. */
export function readShared(path: string): Buffer {
  const st = statSync(path);
  const stamp = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  const hit = cache.get(path);
  const held = hit?.stamp === stamp ? hit.bytes.deref() : undefined;
  if (held) return held;
  const bytes = readFileSync(path);
  cache.set(path, { stamp, bytes: new WeakRef(bytes) });
  return bytes;
}
