/**
 * safetensors: an 8-byte little-endian header length N, N bytes of JSON
 * `{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {str: str}}`,
 * then the raw little-endian tensor bytes. Reading validates everything before trusting it: the header
 * JSON, dtypes, shapes, that every tensor's byte range matches its dtype and shape, and that the ranges
 * tile the data buffer exactly (in order, no gap, no overlap, nothing out of range, no duplicate name).
 */
import { UserError } from "../errors.js";
import { writeFileAtomic } from "./atomic-write.js";
import { readInputFile } from "./read-input.js";
import {
  bfloat16ToFloat32,
  bytesPerElement,
  fromBytes,
  numel,
  toBytes,
  type DType,
  type Tensor,
} from "./tensor-data.js";

const CODES: Record<DType, string> = {
  float32: "F32",
  float16: "F16",
  float64: "F64",
  int64: "I64",
  int32: "I32",
  int16: "I16",
  int8: "I8",
  uint8: "U8",
  uint16: "U16",
  uint32: "U32",
  uint64: "U64",
  bool: "BOOL",
};
const DTYPE_OF_CODE = new Map(Object.entries(CODES).map(([d, c]) => [c, d as DType]));

/** Largest header we accept (the reference implementation's limit). */
const MAX_HEADER = 100_000_000;

export interface Safetensors {
  /** In the header's order. BF16 tensors are converted to float32 (exactly). */
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

export interface ReadSafetensorsOptions {
  /** Name for messages when reading bytes (default "<bytes>"; a path names itself). */
  name?: string;
}

/** Reads and validates a safetensors file (path) or buffer. Throws one UserError listing every problem. */
export function readSafetensors(source: string | Uint8Array, opts: ReadSafetensorsOptions = {}): Safetensors {
  const file = typeof source === "string" ? source : (opts.name ?? "<bytes>");
  const bytes = typeof source === "string" ? readInputFile(source) : source;
  const fail = (msg: string): never => {
    throw new UserError(msg, file);
  };
  if (bytes.length < 8)
    fail(`is not a safetensors file (${bytes.length} bytes, shorter than the 8-byte header length)`);
  const headerLen = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLen > BigInt(Math.min(MAX_HEADER, bytes.length - 8))) {
    fail(
      `is not a safetensors file or is truncated (header length ${headerLen} > the ${bytes.length - 8} bytes that follow)`,
    );
  }
  const headerText = new TextDecoder("utf-8", { fatal: false }).decode(bytes.subarray(8, 8 + Number(headerLen)));
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (e) {
    fail(`is not a safetensors file (header is not JSON: ${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header))
    fail("safetensors header is not a JSON object");
  const dups = duplicateTopLevelKeys(headerText);
  if (dups.length) fail(`safetensors header names ${dups.map((d) => `'${d}'`).join(", ")} more than once`);
  const data = bytes.subarray(8 + Number(headerLen));
  const { entries, metadata, problems } = parseHeader(header as Record<string, unknown>, data.length);
  if (problems.length) fail(`invalid safetensors header: ${problems.join("; ")}`);
  const tensors = new Map<string, Tensor>();
  for (const e of entries) tensors.set(e.name, decodeEntry(e, data));
  return { tensors, metadata };
}

interface Entry {
  name: string;
  code: string;
  dims: number[];
  begin: number;
  end: number;
}

function parseHeader(header: Record<string, unknown>, dataLength: number) {
  const problems: string[] = [];
  const entries: Entry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(header)) {
    if (name === "__metadata__") {
      const ok =
        typeof v === "object" &&
        v !== null &&
        !Array.isArray(v) &&
        Object.values(v).every((x) => typeof x === "string");
      if (ok) metadata = { ...(v as Record<string, string>) };
      else problems.push("__metadata__ must map strings to strings");
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== "object" || e === null) {
      problems.push(`'${name}' is not an object`);
      continue;
    }
    const code = String(e.dtype);
    const size = code === "BF16" ? 2 : DTYPE_OF_CODE.has(code) ? bytesPerElement(DTYPE_OF_CODE.get(code)!) : undefined;
    if (size === undefined)
      problems.push(
        `'${name}' has unsupported dtype '${code}' (supported: ${[...DTYPE_OF_CODE.keys(), "BF16"].join(", ")})`,
      );
    const dims = e.shape;
    if (!Array.isArray(dims) || !dims.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      problems.push(`'${name}' has shape ${JSON.stringify(dims)}, expected a list of non-negative integers`);
      continue;
    }
    const off = e.data_offsets;
    if (
      !Array.isArray(off) ||
      off.length !== 2 ||
      !off.every((x) => Number.isSafeInteger(x) && x >= 0) ||
      off[0] > off[1]
    ) {
      problems.push(`'${name}' has data_offsets ${JSON.stringify(off)}, expected [begin, end] with 0 <= begin <= end`);
      continue;
    }
    const [begin, end] = off as [number, number];
    if (size !== undefined && end - begin !== numel(dims) * size) {
      problems.push(`'${name}' spans ${end - begin} bytes but ${code} [${dims}] needs ${numel(dims) * size}`);
    }
    entries.push({ name, code, dims: dims as number[], begin, end });
  }
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const e of byOffset) {
    if (e.begin > pos)
      problems.push(`bytes ${pos}..${e.begin} of the data belong to no tensor (gap before '${e.name}')`);
    if (e.begin < pos)
      problems.push(`'${e.name}' [${e.begin}, ${e.end}) overlaps the tensor before it (which ends at ${pos})`);
    pos = Math.max(pos, e.end);
  }
  if (pos > dataLength)
    problems.push(`tensors need ${pos} bytes of data but the file holds ${dataLength} (truncated?)`);
  else if (pos < dataLength) problems.push(`the last ${dataLength - pos} bytes of data belong to no tensor`);
  return { entries, metadata, problems };
}

function decodeEntry(e: Entry, data: Uint8Array): Tensor {
  const n = numel(e.dims);
  const bytes = data.subarray(e.begin, e.end);
  if (e.code === "BF16")
    return { dtype: "float32", dims: e.dims, data: bfloat16ToFloat32(fromBytes("uint16", bytes, n) as Uint16Array) };
  const dtype = DTYPE_OF_CODE.get(e.code)!;
  return { dtype, dims: e.dims, data: fromBytes(dtype, bytes, n) };
}

/** Names that occur more than once among the header object's own keys (JSON.parse keeps only the last). */
function duplicateTopLevelKeys(json: string): string[] {
  const seen = new Set<string>();
  const dups = new Set<string>();
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") depth--;
    else if (c === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === "\\" ? 2 : 1;
      const raw = json.slice(i, j + 1);
      let k = j + 1;
      while (/\s/.test(json[k] ?? "")) k++;
      if (depth === 1 && json[k] === ":") {
        const key = JSON.parse(raw) as string;
        if (seen.has(key)) dups.add(key);
        seen.add(key);
      }
      i = j;
    }
  }
  return [...dups];
}

/**
 * Encodes tensors as safetensors chunks (header, then data). The header keeps the map's order; the data
 * is laid out by decreasing element size, so every tensor starts at a multiple of its element size.
 */
export function encodeSafetensors(tensors: Map<string, Tensor>, metadata?: Record<string, string>): Uint8Array[] {
  const layout = [...tensors.entries()].map(([name, t], index) => ({ name, t, index }));
  layout.sort((a, b) => bytesPerElement(b.t.dtype) - bytesPerElement(a.t.dtype) || a.index - b.index);
  const offsets = new Map<string, [number, number]>();
  let pos = 0;
  for (const { name, t } of layout) {
    const len = t.data.byteLength;
    if (len !== numel(t.dims) * bytesPerElement(t.dtype)) {
      throw new UserError(
        `tensor '${name}' holds ${len} bytes, expected ${numel(t.dims) * bytesPerElement(t.dtype)} for ${t.dtype} [${t.dims}]`,
      );
    }
    offsets.set(name, [pos, pos + len]);
    pos += len;
  }
  // no prototype: a tensor named "__proto__" (or "constructor") is a key like any other
  const header = Object.create(null) as Record<string, unknown>;
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  for (const [name, t] of tensors) {
    if (name === "__metadata__") throw new UserError(`a tensor may not be named '__metadata__' in safetensors`);
    header[name] = { dtype: CODES[t.dtype], shape: t.dims, data_offsets: offsets.get(name) };
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  return [len, headerBytes, ...layout.map(({ t }) => toBytes(t.data))];
}

/** Writes tensors (and optional string metadata) as a safetensors file, atomically. */
export function writeSafetensors(path: string, tensors: Map<string, Tensor>, metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
