/**
 * Reads `torch.save` files without executing anything: the zip format (torch >= 1.6: `<name>/data.pkl`
 * plus one entry per storage under `<name>/data/`) and the legacy format (a magic-number pickle, a
 * protocol pickle, a sys-info pickle, the object pickle, a pickle of storage keys, then each storage as an
 * int64 element count and its raw bytes). The object pickle goes through the restricted unpickler with
 * the globals a tensor state_dict or a plain training checkpoint needs, the set PyTorch's
 * `weights_only=True` loader also trusts for these; anything else is refused.
 *
 * Nothing is allocated from a size the file states before it is checked against the bytes there: a tensor may
 * hold at most as many elements as its storage (a stride-0 "expanded" view larger than its storage is refused),
 * and its elements must lie inside the storage.
 */
import { UserError } from "../../errors.js";
import { readInputFile } from "../read-input.js";
import { bfloat16ToFloat32, bytesPerElement, fromBytes, numel, type DType, type Tensor } from "../tensor-data.js";
import { unpickle, type PyGlobal, type PyValue } from "./pickle.js";
import { isZip, ZipReader } from "./zip.js";

const STORAGE_DTYPES: Record<string, DType | "bfloat16"> = {
  FloatStorage: "float32",
  DoubleStorage: "float64",
  HalfStorage: "float16",
  BFloat16Storage: "bfloat16",
  LongStorage: "int64",
  IntStorage: "int32",
  ShortStorage: "int16",
  CharStorage: "int8",
  ByteStorage: "uint8",
  BoolStorage: "bool",
};

interface StorageType extends PyGlobal {
  storage: DType | "bfloat16";
}
interface StorageRef {
  key: string;
  type: DType | "bfloat16";
  numel: number;
}
class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly size: number[],
    readonly stride: number[],
  ) {}
}

const isIntList = (v: unknown): v is number[] =>
  Array.isArray(v) && v.every((x) => Number.isSafeInteger(x) && (x as number) >= 0);

function makeGlobals(file: string): Map<string, PyGlobal> {
  const bad = (what: string): never => {
    throw new UserError(`malformed torch.save file (${what})`, file);
  };
  const g = new Map<string, PyGlobal>();
  const add = (qualname: string, call?: (args: PyValue[]) => PyValue) => g.set(qualname, { qualname, call });
  add("collections.OrderedDict", (args) => {
    const items = args[0] ?? [];
    if (!Array.isArray(items) || !items.every((p) => Array.isArray(p) && p.length === 2))
      bad("OrderedDict built from something other than a list of pairs");
    return new Map(items as [unknown, unknown][]);
  });
  add("torch._utils._rebuild_tensor_v2", ([storage, offset, size, stride]) => {
    if (!(typeof storage === "object" && storage !== null && "key" in storage)) bad("tensor without storage");
    if (
      !Number.isSafeInteger(offset) ||
      (offset as number) < 0 ||
      !isIntList(size) ||
      !isIntList(stride) ||
      size.length !== stride.length
    )
      bad("tensor geometry");
    return new TensorRef(storage as StorageRef, offset as number, size as number[], stride as number[]);
  });
  add("torch._utils._rebuild_parameter", ([data]) => data);
  add("torch._utils._rebuild_parameter_with_state", ([data]) => data);
  add("torch.Size", ([dims]) => dims);
  for (const set of ["builtins.set", "builtins.frozenset", "__builtin__.set"])
    add(set, ([items]) => {
      if (items !== undefined && !Array.isArray(items)) bad("set built from something other than a list");
      return new Set((items as unknown[] | undefined) ?? []);
    });
  add("_codecs.encode", ([text]) => Uint8Array.from(String(text), (c) => c.charCodeAt(0) & 0xff));
  for (const [name, storage] of Object.entries(STORAGE_DTYPES))
    g.set(`torch.${name}`, { qualname: `torch.${name}`, storage } as StorageType);
  return g;
}

function persistentLoader(file: string, refs: Map<string, StorageRef>) {
  return (pid: PyValue): PyValue => {
    if (!Array.isArray(pid) || pid[0] !== "storage" || pid.length < 5)
      throw new UserError("malformed torch.save file (unknown persistent id)", file);
    const [, type, key, , count, view] = pid as [string, StorageType, unknown, unknown, unknown, unknown];
    if (!type || typeof type !== "object" || !("storage" in type))
      throw new UserError("malformed torch.save file (storage without a type)", file);
    if (view !== undefined && view !== null)
      throw new UserError("storage views (torch < 1.0 files) are not supported", file);
    const k = String(key);
    const ref = refs.get(k) ?? { key: k, type: type.storage, numel: Number(count) };
    refs.set(k, ref);
    return ref;
  };
}

export interface ReadTorchOptions {
  /** Name for messages when reading bytes. */
  name?: string;
}

/**
 * The object a torch.save file holds, with tensors as host Tensors (float16 kept as float16; bfloat16
 * widened to float32 exactly). dict -> Map, list/tuple -> array.
 */
export function readTorchFile(source: string | Uint8Array, opts: ReadTorchOptions = {}): PyValue {
  const file = typeof source === "string" ? source : (opts.name ?? "<bytes>");
  const bytes = typeof source === "string" ? readInputFile(source) : source;
  const refs = new Map<string, StorageRef>();
  const globals = makeGlobals(file);
  const persistentLoad = persistentLoader(file, refs);
  let value: PyValue;
  let storageBytes: (ref: StorageRef) => Uint8Array;
  if (isZip(bytes)) {
    const zip = new ZipReader(bytes, file);
    const pkl = [...zip.entries.keys()].find((n) => n === "data.pkl" || /^[^/]+\/data\.pkl$/.test(n));
    if (!pkl) throw new UserError("is a zip archive but not a torch.save file (no data.pkl)", file);
    const prefix = pkl.slice(0, -"data.pkl".length);
    const order = zip.entries.has(`${prefix}byteorder`)
      ? new TextDecoder().decode(zip.read(`${prefix}byteorder`))
      : "little";
    if (order !== "little")
      throw new UserError(`stores tensors in '${order}' byte order; only little-endian is supported`, file);
    value = unpickle(zip.read(pkl), { file, globals, persistentLoad }).value;
    const storages = new Map<string, Uint8Array>(); // each storage read (inflated) once, however many views use it
    storageBytes = (ref) => {
      let b = storages.get(ref.key);
      if (!b) storages.set(ref.key, (b = zip.read(`${prefix}data/${ref.key}`)));
      return b;
    };
  } else if (bytes[0] === 0x80) {
    const legacy = readLegacy(bytes, file, globals, persistentLoad, refs);
    value = legacy.value;
    storageBytes = (ref) => legacy.storages.get(ref.key)!;
  } else {
    throw new UserError("is not a torch.save file (neither a zip archive nor a pickle)", file);
  }
  return materialize(value, (ref) => rebuildTensor(ref, storageBytes(ref.storage), file));
}

function readLegacy(
  bytes: Uint8Array,
  file: string,
  globals: Map<string, PyGlobal>,
  persistentLoad: (pid: PyValue) => PyValue,
  refs: Map<string, StorageRef>,
) {
  const plain = { file, globals: new Map<string, PyGlobal>() };
  const magic = unpickle(bytes, plain);
  if (magic.value !== 0x1950a86a20f9469cfc6cn)
    throw new UserError("is a pickle but not a torch.save file (no torch magic number)", file);
  const protocol = unpickle(bytes, { ...plain, offset: magic.end });
  if (protocol.value !== 1001)
    throw new UserError(`uses torch legacy protocol ${String(protocol.value)}, expected 1001`, file);
  const sysInfo = unpickle(bytes, { ...plain, offset: protocol.end });
  const info = sysInfo.value instanceof Map ? sysInfo.value : new Map();
  if (info.get("little_endian") === false)
    throw new UserError("stores tensors big-endian; only little-endian is supported", file);
  const main = unpickle(bytes, { file, globals, persistentLoad, offset: sysInfo.end });
  const keys = unpickle(bytes, { ...plain, offset: main.end });
  if (!Array.isArray(keys.value)) throw new UserError("malformed torch.save file (storage key list)", file);
  const storages = new Map<string, Uint8Array>();
  let pos = keys.end;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const key of keys.value.map(String)) {
    const ref = refs.get(key);
    if (!ref) throw new UserError(`malformed torch.save file (storage '${key}' is never used)`, file);
    if (pos + 8 > bytes.length) throw new UserError("torch.save file ends early (truncated?)", file);
    const count = Number(dv.getBigInt64(pos, true));
    const len = count * storageElementBytes(ref.type);
    pos += 8;
    if (count < 0 || pos + len > bytes.length)
      throw new UserError(`torch.save file ends inside storage '${key}' (truncated?)`, file);
    storages.set(key, bytes.subarray(pos, pos + len));
    pos += len;
  }
  for (const key of refs.keys())
    if (!storages.has(key)) throw new UserError(`malformed torch.save file (storage '${key}' has no data)`, file);
  return { value: main.value, storages };
}

const storageElementBytes = (t: DType | "bfloat16") => (t === "bfloat16" ? 2 : bytesPerElement(t));

function rebuildTensor(ref: TensorRef, bytes: Uint8Array, file: string): Tensor {
  const { storage, offset, size, stride } = ref;
  const es = storageElementBytes(storage.type);
  const avail = Math.floor(bytes.length / es);
  const n = numel(size);
  if (n > avail) {
    throw new UserError(
      `tensor of shape [${size}] has ${n} elements but its storage '${storage.key}' holds ${avail}` +
        " (an expanded, stride-0 view larger than its storage is not supported; save it with .contiguous())",
      file,
    );
  }
  const lastIndex = n === 0 ? offset : offset + size.reduce((acc, d, i) => acc + (d - 1) * stride[i]!, 0);
  if (lastIndex >= avail && n > 0) {
    throw new UserError(
      `tensor reaches element ${lastIndex} of storage '${storage.key}', which holds ${avail} (truncated?)`,
      file,
    );
  }
  const dtype: DType = storage.type === "bfloat16" ? "uint16" : storage.type;
  const contiguous = size.every((_, i) => size[i] === 1 || stride[i] === numel(size.slice(i + 1)));
  let gathered: Uint8Array;
  if (contiguous) {
    gathered = bytes.subarray(offset * es, (offset + n) * es);
  } else {
    gathered = new Uint8Array(n * es);
    const idx = new Array<number>(size.length).fill(0);
    for (let i = 0; i < n; i++) {
      const src = offset + idx.reduce((acc, x, d) => acc + x * stride[d]!, 0);
      gathered.set(bytes.subarray(src * es, src * es + es), i * es);
      for (let d = size.length - 1; d >= 0 && ++idx[d]! === size[d]; d--) idx[d] = 0;
    }
  }
  const data = fromBytes(dtype, gathered, n);
  if (storage.type === "bfloat16")
    return { dtype: "float32", dims: [...size], data: bfloat16ToFloat32(data as Uint16Array) };
  return { dtype, dims: [...size], data };
}

/** Replaces every TensorRef in the value tree (Maps, arrays, Sets) by its tensor, without recursion. */
function materialize(root: PyValue, make: (ref: TensorRef) => Tensor): PyValue {
  if (root instanceof TensorRef) return make(root);
  const seen = new Set<unknown>([root]);
  const todo: unknown[] = [root];
  const visit = (x: unknown): unknown => {
    if (x instanceof TensorRef) return make(x);
    if ((x instanceof Map || Array.isArray(x) || x instanceof Set) && !seen.has(x)) {
      seen.add(x);
      todo.push(x);
    }
    return x;
  };
  while (todo.length) {
    const v = todo.pop();
    if (v instanceof Map) {
      for (const [k, x] of v) v.set(k, visit(x));
    } else if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = visit(v[i]);
    } else if (v instanceof Set) {
      const items = [...v].map(visit);
      v.clear();
      items.forEach((x) => v.add(x));
    }
  }
  return root;
}

export const isTensor = (v: unknown): v is Tensor =>
  typeof v === "object" && v !== null && "dtype" in v && "dims" in v && "data" in v;
