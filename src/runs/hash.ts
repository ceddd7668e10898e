/** sha256 digests for manifests: of files, of id lists, of JSON values (keys sorted). */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

export function sha256Bytes(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export function sha256File(path: string): string {
  return sha256Bytes(readFileSync(path));
}

/** sha256 of the ids sorted ascending, as decimal text one per line (easy to reproduce with `sort -n | sha256sum`). */
export function sha256Ids(ids: ArrayLike<number>): string {
  const sorted = Int32Array.from(ids).sort();
  return sha256Bytes(Array.from(sorted, (id) => `${id}\n`).join(""));
}

/** JSON with object keys sorted at every level: one text per value, whatever the key order it was built in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

export const sha256Json = (value: unknown): string => sha256Bytes(canonicalJson(value));
