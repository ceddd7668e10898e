/**
 * ONNX TensorProto <-> typed arrays, both ways. Reads raw_data, the typed *_data fields and external data;
 * writes raw_data (little-endian, as every exporter does). int64 stays BigInt64Array; float16 stays its
 * IEEE half bits in a Uint16Array (Node 20 has no Float16Array), with converters to float32.
 */
import { readFileSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import { UserError } from "../errors.js";
import { DataLocation, DataType, newTensor, type TensorProto } from "./proto.js";

export type DType = "float32" | "float16" | "float64" | "int64" | "int32" | "int16" | "int8" | "uint8" | "uint16" | "uint32" | "uint64" | "bool";

export type TypedArray =
  | Float32Array | Float64Array | BigInt64Array | BigUint64Array | Int32Array | Int16Array | Int8Array
  | Uint8Array | Uint16Array | Uint32Array;

/** A plain host tensor. For float16, `data` holds the half-precision bit patterns. */
export interface Tensor {
  dtype: DType;
  dims: number[];
  data: TypedArray;
}

interface DTypeInfo { onnx: number; bytes: number; make: (buf: ArrayBuffer, n: number) => TypedArray }

const DTYPES: Record<DType, DTypeInfo> = {
  float32: { onnx: DataType.FLOAT, bytes: 4, make: (b, n) => new Float32Array(b, 0, n) },
  float16: { onnx: DataType.FLOAT16, bytes: 2, make: (b, n) => new Uint16Array(b, 0, n) },
  float64: { onnx: DataType.DOUBLE, bytes: 8, make: (b, n) => new Float64Array(b, 0, n) },
  int64: { onnx: DataType.INT64, bytes: 8, make: (b, n) => new BigInt64Array(b, 0, n) },
  uint64: { onnx: DataType.UINT64, bytes: 8, make: (b, n) => new BigUint64Array(b, 0, n) },
  int32: { onnx: DataType.INT32, bytes: 4, make: (b, n) => new Int32Array(b, 0, n) },
  uint32: { onnx: DataType.UINT32, bytes: 4, make: (b, n) => new Uint32Array(b, 0, n) },
  int16: { onnx: DataType.INT16, bytes: 2, make: (b, n) => new Int16Array(b, 0, n) },
  uint16: { onnx: DataType.UINT16, bytes: 2, make: (b, n) => new Uint16Array(b, 0, n) },
  int8: { onnx: DataType.INT8, bytes: 1, make: (b, n) => new Int8Array(b, 0, n) },
  uint8: { onnx: DataType.UINT8, bytes: 1, make: (b, n) => new Uint8Array(b, 0, n) },
  bool: { onnx: DataType.BOOL, bytes: 1, make: (b, n) => new Uint8Array(b, 0, n) },
};

export function dtypeFromOnnx(onnxType: number): DType | undefined {
  return (Object.keys(DTYPES) as DType[]).find((k) => DTYPES[k].onnx === onnxType);
}
export const onnxFromDtype = (d: DType): number => DTYPES[d].onnx;
export const bytesPerElement = (d: DType): number => DTYPES[d].bytes;
export const numel = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** A zero-filled tensor of the given dtype and shape. */
export function zeros(dtype: DType, dims: number[]): Tensor {
  const n = numel(dims);
  return { dtype, dims: [...dims], data: DTYPES[dtype].make(new ArrayBuffer(n * DTYPES[dtype].bytes), n) };
}

/** Copies little-endian bytes into a fresh, aligned typed array. */
export function fromBytes(dtype: DType, bytes: Uint8Array, n: number): TypedArray {
  const info = DTYPES[dtype];
  const buf = new ArrayBuffer(n * info.bytes);
  new Uint8Array(buf).set(bytes.subarray(0, n * info.bytes));
  return info.make(buf, n);
}

export function toBytes(data: TypedArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export interface ReadTensorOptions {
  /** Folder of the model file, for tensors stored as external data. */
  baseDir?: string;
  /** Model file name, for error messages. */
  file?: string;
}

/** Decodes an initializer into a host tensor (copying: the result never aliases the proto). */
export function readTensor(t: TensorProto, opts: ReadTensorOptions = {}): Tensor {
  const where = opts.file ? `${opts.file}: initializer '${t.name}'` : `initializer '${t.name}'`;
  const dtype = dtypeFromOnnx(t.dataType);
  if (!dtype) throw new UserError(`unsupported data type ${DataType[t.dataType] ?? t.dataType}`, where);
  const dims = t.dims.map(Number);
  const n = numel(dims);
  const size = n * DTYPES[dtype].bytes;
  if (t.dataLocation === DataLocation.EXTERNAL) {
    const bytes = readExternal(t, opts, where);
    if (bytes.length !== size) throw new UserError(`external data holds ${bytes.length} bytes, expected ${size} for dims [${dims}]`, where);
    return { dtype, dims, data: fromBytes(dtype, bytes, n) };
  }
  if (t.rawData.length > 0 || n === 0) {
    if (t.rawData.length !== size) throw new UserError(`raw_data holds ${t.rawData.length} bytes, expected ${size} for dims [${dims}]`, where);
    return { dtype, dims, data: fromBytes(dtype, t.rawData, n) };
  }
  return { dtype, dims, data: fromTypedField(t, dtype, n, where) };
}

function fromTypedField(t: TensorProto, dtype: DType, n: number, where: string): TypedArray {
  const check = (len: number) => {
    if (len !== n) throw new UserError(`holds ${len} values, expected ${n}`, where);
  };
  switch (dtype) {
    case "float32": check(t.floatData.length); return Float32Array.from(t.floatData);
    case "float64": check(t.doubleData.length); return Float64Array.from(t.doubleData);
    case "int64": check(t.int64Data.length); return BigInt64Array.from(t.int64Data);
    case "uint64": check(t.uint64Data.length); return BigUint64Array.from(t.uint64Data);
    case "uint32": check(t.uint64Data.length); return Uint32Array.from(t.uint64Data, Number);
    case "int32": check(t.int32Data.length); return Int32Array.from(t.int32Data);
    case "int16": check(t.int32Data.length); return Int16Array.from(t.int32Data);
    case "int8": check(t.int32Data.length); return Int8Array.from(t.int32Data);
    case "uint16": case "float16": check(t.int32Data.length); return Uint16Array.from(t.int32Data);
    case "uint8": case "bool": check(t.int32Data.length); return Uint8Array.from(t.int32Data);
  }
}

/** Resolves an external-data location inside `baseDir`; a location that escapes it is refused. */
export function externalPath(location: string, baseDir: string, where: string): string {
  const full = resolve(baseDir, location);
  const rel = relative(resolve(baseDir), full);
  if (location === "" || isAbsolute(location) || rel.startsWith("..") || isAbsolute(rel)) {
    throw new UserError(`external data location '${location}' escapes the model's folder`, where);
  }
  return full;
}

function readExternal(t: TensorProto, opts: ReadTensorOptions, where: string): Uint8Array {
  const kv = new Map(t.externalData.map((e) => [e.key, e.value]));
  const location = kv.get("location");
  if (location === undefined) throw new UserError("external data has no 'location'", where);
  if (opts.baseDir === undefined) throw new UserError("external data needs the model's folder (load the model from a path)", where);
  const path = externalPath(location, opts.baseDir, where);
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch {
    throw new UserError(`external data file '${location}' is missing or unreadable`, where);
  }
  const offset = Number(kv.get("offset") ?? "0");
  const length = kv.has("length") ? Number(kv.get("length")) : file.length - offset;
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > file.length) {
    throw new UserError(`external data range offset ${offset} length ${length} is outside '${location}' (${file.length} bytes)`, where);
  }
  return new Uint8Array(file.buffer, file.byteOffset + offset, length);
}

/** Builds an initializer holding `tensor` as raw_data. */
export function makeTensorProto(name: string, tensor: Tensor): TensorProto {
  return newTensor({
    name,
    dataType: DTYPES[tensor.dtype].onnx,
    dims: tensor.dims.map(BigInt),
    rawData: new Uint8Array(toBytes(tensor.data)),
  });
}

/** Replaces the values of an initializer in place, keeping its name, dims, doc and metadata. */
export function writeTensorData(t: TensorProto, tensor: Tensor): void {
  t.dataType = DTYPES[tensor.dtype].onnx;
  t.dims = tensor.dims.map(BigInt);
  t.rawData = new Uint8Array(toBytes(tensor.data));
  t.floatData = []; t.int32Data = []; t.int64Data = []; t.doubleData = []; t.uint64Data = []; t.stringData = [];
  t.externalData = [];
  t.dataLocation = DataLocation.DEFAULT;
}

export const float32 = (dims: number[], values: ArrayLike<number>): Tensor => ({ dtype: "float32", dims, data: Float32Array.from(values) });
export const int64 = (dims: number[], values: ArrayLike<number | bigint>): Tensor => ({
  dtype: "int64", dims, data: BigInt64Array.from(Array.from(values, (v) => BigInt(v))),
});

/** IEEE half bits -> float32. */
export function halfToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i]!;
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const f = h & 0x3ff;
    out[i] = e === 0 ? s * 2 ** -14 * (f / 1024) : e === 31 ? (f ? NaN : s * Infinity) : s * 2 ** (e - 15) * (1 + f / 1024);
  }
  return out;
}

/** float32 -> IEEE half bits, round to nearest even. */
export function float32ToHalf(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < values.length; i++) {
    f32[0] = values[i]!;
    const x = u32[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) { out[i] = sign | 0x7c00 | (mant ? 0x200 : 0); continue; }
    let e = exp - 127 + 15;
    if (e >= 0x1f) { out[i] = sign | 0x7c00; continue; }
    if (e <= 0) {
      if (e < -10) { out[i] = sign; continue; }
      mant |= 0x800000;
      const shift = 14 - e;
      let half = mant >> shift;
      const rem = mant & ((1 << shift) - 1);
      const mid = 1 << (shift - 1);
      if (rem > mid || (rem === mid && half & 1)) half++;
      out[i] = sign | half;
      continue;
    }
    let half = (e << 10) | (mant >> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
    out[i] = sign | half;
  }
  return out;
}

/** Any float tensor as float32 values (float16 and float64 converted). */
export function asFloat32(t: Tensor): Float32Array {
  if (t.dtype === "float32") return t.data as Float32Array;
  if (t.dtype === "float16") return halfToFloat32(t.data as Uint16Array);
  if (t.dtype === "float64") return Float32Array.from(t.data as Float64Array);
  throw new UserError(`expected a floating-point tensor, got ${t.dtype}`);
}
