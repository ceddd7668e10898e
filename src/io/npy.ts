/**
 * NumPy .npy files (format versions 1.0, 2.0 and 3.0), little-endian, C order. Only what a data set needs:
 * booleans, integers up to 64 bits and float32/float64.
 */
import { UserError } from "../errors.js";
import { writeFileAtomic } from "./atomic-write.js";
import { readInputFile } from "./read-input.js";
import { bytesPerElement, fromBytes, numel, toBytes, type TypedArray } from "./tensor-data.js";

export type NpyDtype =
  "bool" | "uint8" | "int8" | "uint16" | "int16" | "uint32" | "int32" | "int64" | "uint64" | "float32" | "float64";

export type NpyData = TypedArray;

export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: NpyData;
}

const DESCR: Record<string, NpyDtype> = {
  "|b1": "bool",
  "|u1": "uint8",
  "|i1": "int8",
  "<u2": "uint16",
  "<i2": "int16",
  "<u4": "uint32",
  "<i4": "int32",
  "<i8": "int64",
  "<u8": "uint64",
  "<f4": "float32",
  "<f8": "float64",
};
const DESCR_OF: Record<NpyDtype, string> = Object.fromEntries(Object.entries(DESCR).map(([d, t]) => [t, d])) as Record<
  NpyDtype,
  string
>;
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/** Reads a .npy file (path or bytes; `name` labels errors when bytes are given). */
export function readNpy(source: string | Uint8Array, name = typeof source === "string" ? source : "npy"): NpyArray {
  return decodeNpy(typeof source === "string" ? readInputFile(source, "file") : source, name);
}

export function decodeNpy(bytes: Uint8Array, name = "npy"): NpyArray {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m))
    throw new UserError("not a .npy file (bad magic)", name);
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number, headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new UserError("truncated .npy header", name);
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else throw new UserError(`unsupported .npy format version ${major}`, name);
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) throw new UserError("truncated .npy header", name);
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(headerStart, dataStart));
  const { descr, fortran, shape } = parseHeader(header, name);
  const dtype = DESCR[descr];
  if (!dtype) {
    const hint = descr.startsWith(">") ? " (big-endian data is not supported)" : "";
    throw new UserError(
      `unsupported dtype '${JSON.stringify(descr.slice(0, 20)).slice(1, -1)}'${hint}; supported: ${Object.keys(DESCR).join(", ")}`,
      name,
    );
  }
  const count = numel(shape);
  if (fortran && shape.filter((d) => d > 1).length > 1)
    throw new UserError("Fortran-order arrays are not supported", name);
  const byteLen = count * bytesPerElement(dtype);
  if (bytes.length - dataStart < byteLen) {
    throw new UserError(
      `truncated data: shape [${shape}] needs ${byteLen} bytes, file has ${bytes.length - dataStart}`,
      name,
    );
  }
  return { dtype, shape, data: fromBytes(dtype, bytes.subarray(dataStart), count) };
}

function parseHeader(header: string, name: string): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    const shown = JSON.stringify(header.trim().slice(0, 120));
    throw new UserError(`malformed .npy header: ${shown}`, name);
  }
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0))
    throw new UserError(`bad shape (${JSON.stringify(shapeText.slice(0, 80)).slice(1, -1)})`, name);
  return { descr, fortran: fortran === "True", shape };
}

/** Encodes an array as .npy version 1.0 (2.0 when the header does not fit 65535 bytes). */
export function encodeNpy(array: NpyArray): Uint8Array {
  const count = numel(array.shape);
  if (array.data.length !== count) {
    throw new Error(`encodeNpy: data has ${array.data.length} elements, shape [${array.shape}] needs ${count}`);
  }
  const shapeText = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(", ")})`;
  let dict = `{'descr': '${DESCR_OF[array.dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const v2 = dict.length + 11 > 65535;
  const prefix = v2 ? 12 : 10;
  const total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - prefix - 1, " ") + "\n";
  const out = new Uint8Array(total + array.data.byteLength);
  out.set(MAGIC, 0);
  out[6] = v2 ? 2 : 1;
  const view = new DataView(out.buffer);
  if (v2) view.setUint32(8, dict.length, true);
  else view.setUint16(8, dict.length, true);
  out.set(new TextEncoder().encode(dict), prefix);
  out.set(toBytes(array.data), total);
  return out;
}

/** Writes an array as a .npy file (atomically). */
export function writeNpy(path: string, array: NpyArray): void {
  writeFileAtomic(path, encodeNpy(array));
}
