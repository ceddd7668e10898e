/**
 * ONNX TensorProto <-> typed arrays, both ways. Reads raw_data, the typed *_data fields and external data;
 * writes raw_data (little-endian, as every exporter does). int64 stays BigInt64Array; float16 stays its
 * IEEE half bits in a Uint16Array (Node 20 has no Float16Array), with converters to float32. The host
 * tensor itself lives in src/io/tensor-data.ts (file formats below onnx/ use it too) and is re-exported here.
 */
import { resolve } from "node:path";
import { UserError } from "../errors.js";
import { locationProblem, resolveInside } from "../io/paths.js";
import { readShared } from "../io/read-once.js";
import { clearDataLocation, DataLocation, DataType, newTensor, type TensorProto } from "./proto.js";
import {
  bytesPerElement,
  float32ToHalf,
  fromBytes,
  halfToFloat32,
  numel,
  toBytes,
  zeros,
  type DType,
  type Tensor,
  type TypedArray,
} from "../io/tensor-data.js";

export { bytesPerElement, float32ToHalf, fromBytes, halfToFloat32, numel, toBytes, zeros };
export type { DType, Tensor, TypedArray };

const ONNX_TYPES: Record<DType, number> = {
  float32: DataType.FLOAT,
  float16: DataType.FLOAT16,
  float64: DataType.DOUBLE,
  int64: DataType.INT64,
  uint64: DataType.UINT64,
  int32: DataType.INT32,
  uint32: DataType.UINT32,
  int16: DataType.INT16,
  uint16: DataType.UINT16,
  int8: DataType.INT8,
  uint8: DataType.UINT8,
  bool: DataType.BOOL,
};

export function dtypeFromOnnx(onnxType: number): DType | undefined {
  return (Object.keys(ONNX_TYPES) as DType[]).find((k) => ONNX_TYPES[k] === onnxType);
}
export const onnxFromDtype = (d: DType): number => ONNX_TYPES[d];

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
  const size = n * bytesPerElement(dtype);
  const external = t.dataLocation === DataLocation.EXTERNAL;
  if (external || t.rawData.length > 0 || n === 0) {
    const bytes = external ? readExternal(t, opts, where) : t.rawData;
    if (bytes.length !== size)
      throw new UserError(
        `${external ? "external data" : "raw_data"} holds ${bytes.length} bytes, expected ${size} for dims [${dims}]`,
        where,
      );
    return { dtype, dims, data: fromBytes(dtype, bytes, n) };
  }
  return { dtype, dims, data: fromTypedField(t, dtype, n, where) };
}

function fromTypedField(t: TensorProto, dtype: DType, n: number, where: string): TypedArray {
  const check = (len: number) => {
    if (len !== n) throw new UserError(`holds ${len} values, expected ${n}`, where);
  };
  switch (dtype) {
    case "float32":
      check(t.floatData.length);
      return Float32Array.from(t.floatData);
    case "float64":
      check(t.doubleData.length);
      return Float64Array.from(t.doubleData);
    case "int64":
      check(t.int64Data.length);
      return BigInt64Array.from(t.int64Data);
    case "uint64":
      check(t.uint64Data.length);
      return BigUint64Array.from(t.uint64Data);
    case "uint32":
      check(t.uint64Data.length);
      return Uint32Array.from(t.uint64Data, Number);
    case "int32":
      check(t.int32Data.length);
      return Int32Array.from(t.int32Data);
    case "int16":
      check(t.int32Data.length);
      return Int16Array.from(t.int32Data);
    case "int8":
      check(t.int32Data.length);
      return Int8Array.from(t.int32Data);
    case "uint16":
    case "float16":
      check(t.int32Data.length);
      return Uint16Array.from(t.int32Data);
    case "uint8":
    case "bool":
      check(t.int32Data.length);
      return Uint8Array.from(t.int32Data);
  }
}

/**
 * Where an external-data location points inside `baseDir` (lexically: not empty, not absolute, no `..`
 * segment; src/io/paths.ts). Reading also resolves symbolic links and refuses a file outside the folder.
 */
export function externalPath(location: string, baseDir: string, where: string): string {
  const problem = locationProblem(location);
  if (problem)
    throw new UserError(`external data location '${location}' escapes the model's folder (${problem})`, where);
  return resolve(baseDir, location);
}

/** An external tensor's side file and byte range, as its external_data entries say (no length: to the file's end). */
export interface ExternalRef {
  location?: string;
  offset: number;
  length?: number;
}

export function externalDataRef(t: TensorProto): ExternalRef {
  const kv = new Map(t.externalData.map((e) => [e.key, e.value]));
  return {
    location: kv.get("location"),
    offset: Number(kv.get("offset") ?? "0"),
    length: kv.has("length") ? Number(kv.get("length")) : undefined,
  };
}

/** The range of `ref` in a side file of `size` bytes, with `problem` set when it does not lie inside the file. */
export function externalRange(ref: ExternalRef, size: number): { offset: number; length: number; problem?: string } {
  const { offset } = ref;
  const length = ref.length ?? size - offset;
  const fits =
    Number.isInteger(offset) && Number.isInteger(length) && offset >= 0 && length >= 0 && offset + length <= size;
  return {
    offset,
    length,
    problem: fits ? undefined : `range offset ${offset} length ${length} is outside '${ref.location}' (${size} bytes)`,
  };
}

function readExternal(t: TensorProto, opts: ReadTensorOptions, where: string): Uint8Array {
  const ref = externalDataRef(t);
  const { location } = ref;
  if (location === undefined) throw new UserError("external data has no 'location'", where);
  if (opts.baseDir === undefined)
    throw new UserError("external data needs the model's folder (load the model from a path)", where);
  const path = resolveInside(opts.baseDir, location, where);
  let file: Buffer;
  try {
    file = readShared(path);
  } catch {
    throw new UserError(`external data file '${location}' is missing or unreadable`, where);
  }
  const { offset, length, problem } = externalRange(ref, file.length);
  if (problem) throw new UserError(`external data ${problem}`, where);
  return new Uint8Array(file.buffer, file.byteOffset + offset, length);
}

/** Builds an initializer holding `tensor` as raw_data. */
export function makeTensorProto(name: string, tensor: Tensor): TensorProto {
  return newTensor({
    name,
    dataType: ONNX_TYPES[tensor.dtype],
    dims: tensor.dims.map(BigInt),
    rawData: new Uint8Array(toBytes(tensor.data)),
  });
}

/** Replaces the values of an initializer in place, keeping its name, dims, doc and metadata. */
export function writeTensorData(t: TensorProto, tensor: Tensor): void {
  t.dataType = ONNX_TYPES[tensor.dtype];
  t.dims = tensor.dims.map(BigInt);
  t.rawData = new Uint8Array(toBytes(tensor.data));
  t.floatData = [];
  t.int32Data = [];
  t.int64Data = [];
  t.doubleData = [];
  t.uint64Data = [];
  t.stringData = [];
  t.externalData = [];
  clearDataLocation(t);
}

export const float32 = (dims: number[], values: ArrayLike<number>): Tensor => ({
  dtype: "float32",
  dims,
  data: Float32Array.from(values),
});
export const int64 = (dims: number[], values: ArrayLike<number | bigint>): Tensor => ({
  dtype: "int64",
  dims,
  data: BigInt64Array.from(Array.from(values, (v) => BigInt(v))),
});

/** Whether two dims lists are equal, entry for entry. */
export const sameDims = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** Index of the first NaN or infinity in `values` (v - v is 0 for every finite number, NaN otherwise), or -1. */
export function firstNonFinite(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) if (values[i]! - values[i]! !== 0) return i;
  return -1;
}

/** Any float tensor as float32 values (float16 and float64 converted). */
export function asFloat32(t: Tensor): Float32Array {
  if (t.dtype === "float32") return t.data as Float32Array;
  if (t.dtype === "float16") return halfToFloat32(t.data as Uint16Array);
  if (t.dtype === "float64") return Float32Array.from(t.data as Float64Array);
  throw new UserError(`expected a floating-point tensor, got ${t.dtype}`);
}
