/**
 * The host tensor shared by every file format (safetensors, torch.save, ONNX): a dtype, dims and a typed
 * array of little-endian values. int64 stays BigInt64Array (never narrowed); float16 keeps its IEEE half
 * bits in a Uint16Array (Node 20 has no Float16Array), with converters to and from float32.
 */
export type DType =
  | "float32"
  | "float16"
  | "float64"
  | "int64"
  | "int32"
  | "int16"
  | "int8"
  | "uint8"
  | "uint16"
  | "uint32"
  | "uint64"
  | "bool";

export type TypedArray =
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array
  | Uint16Array
  | Uint32Array;

/** A plain host tensor. For float16, `data` holds the half-precision bit patterns. */
export interface Tensor {
  dtype: DType;
  dims: number[];
  data: TypedArray;
}

interface ArrayType {
  readonly BYTES_PER_ELEMENT: number;
  new (length: number): TypedArray;
  new (buf: ArrayBuffer, offset: number, length: number): TypedArray;
}

/** The typed array that holds each dtype (its element size is the dtype's). */
const ARRAYS: Record<DType, ArrayType> = {
  float32: Float32Array,
  float16: Uint16Array,
  float64: Float64Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

export const bytesPerElement = (d: DType): number => ARRAYS[d].BYTES_PER_ELEMENT;
export const numel = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

/** A zero-filled tensor of the given dtype and shape. */
export function zeros(dtype: DType, dims: number[]): Tensor {
  return { dtype, dims: [...dims], data: new ARRAYS[dtype](numel(dims)) };
}

/** Copies little-endian bytes into a fresh, aligned typed array. */
export function fromBytes(dtype: DType, bytes: Uint8Array, n: number): TypedArray {
  const size = n * bytesPerElement(dtype);
  const buf = new ArrayBuffer(size);
  new Uint8Array(buf).set(bytes.subarray(0, size));
  return new ARRAYS[dtype](buf, 0, n);
}

/** The bytes of a typed array (a view, not a copy). */
export function toBytes(data: TypedArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** IEEE half bits -> float32. */
export function halfToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i]!;
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const f = h & 0x3ff;
    out[i] =
      e === 0 ? s * 2 ** -14 * (f / 1024) : e === 31 ? (f ? NaN : s * Infinity) : s * 2 ** (e - 15) * (1 + f / 1024);
  }
  return out;
}

/** bfloat16 bits -> float32 (exact: bfloat16 is the top half of a float32). */
export function bfloat16ToFloat32(bits: Uint16Array): Float32Array {
  const u32 = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) u32[i] = bits[i]! << 16;
  return new Float32Array(u32.buffer);
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
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 0x1f) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
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
