/** Hand-built pickles and STORED zip archives, for torch.save reader tests (no Python needed). */
import { crc32 } from "node:zlib";

const enc = new TextEncoder();

/** Pickle opcodes as a tiny assembler: each helper returns bytes, `pickle(...)` joins them with PROTO 2 and STOP. */
export const op = {
  global: (module: string, name: string) => [0x63, ...enc.encode(`${module}\n${name}\n`)],
  str: (s: string) => {
    const b = enc.encode(s);
    return [0x58, ...u32(b.length), ...b];
  },
  int: (n: number) => [0x4a, ...u32(n)],
  mark: [0x28],
  tuple: [0x74],
  emptyTuple: [0x29],
  emptyDict: [0x7d],
  setitem: [0x73],
  setitems: [0x75],
  reduce: [0x52],
  binpersid: [0x51],
  false: [0x89],
  none: [0x4e],
  stackGlobal: [0x93],
  inst: (module: string, name: string) => [0x69, ...enc.encode(`${module}\n${name}\n`)],
};

const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];

export function pickle(...parts: (number[] | number)[]): Uint8Array {
  return Uint8Array.from([0x80, 2, ...parts.flatMap((p) => (typeof p === "number" ? [p] : p)), 0x2e]);
}

/** `_rebuild_tensor_v2(storage(key, FloatStorage, numel), offset, size, stride, False, OrderedDict())` */
export function tensorOps(key: string, numel: number, offset: number, size: number[], stride: number[]): number[] {
  const tuple = (xs: number[]) => [...op.mark, ...xs.flatMap(op.int), ...op.tuple];
  return [
    ...op.global("torch._utils", "_rebuild_tensor_v2"),
    ...op.mark,
    ...op.mark,
    ...op.str("storage"),
    ...op.global("torch", "FloatStorage"),
    ...op.str(key),
    ...op.str("cpu"),
    ...op.int(numel),
    ...op.tuple,
    ...op.binpersid,
    ...op.int(offset),
    ...tuple(size),
    ...tuple(stride),
    ...op.false,
    ...op.global("collections", "OrderedDict"),
    ...op.emptyTuple,
    ...op.reduce,
    ...op.tuple,
    ...op.reduce,
  ];
}

/** A zip archive with STORED entries, laid out like torch.save's. */
export function storedZip(entries: Record<string, Uint8Array>): Uint8Array {
  const locals: number[] = [];
  const central: number[] = [];
  const u16 = (n: number) => [n & 0xff, (n >>> 8) & 0xff];
  for (const [name, data] of Object.entries(entries)) {
    const nameBytes = [...enc.encode(name)];
    const crc = crc32(data);
    const common = [
      ...u16(0),
      ...u16(0),
      ...u16(0),
      ...u16(0),
      ...u16(0),
      ...u32(crc),
      ...u32(data.length),
      ...u32(data.length),
      ...u16(nameBytes.length),
      ...u16(0),
    ];
    const offset = locals.length;
    locals.push(...u32(0x04034b50), ...u16(20), ...common.slice(2), ...nameBytes);
    for (const b of data) locals.push(b); // no spread: entries may be large
    central.push(
      ...u32(0x02014b50),
      ...u16(20),
      ...u16(20),
      ...common.slice(2),
      ...u16(0),
      ...u16(0),
      ...u16(0),
      ...u32(0),
      ...u32(offset),
      ...nameBytes,
    );
  }
  const n = Object.keys(entries).length;
  const eocd = [
    ...u32(0x06054b50),
    ...u16(0),
    ...u16(0),
    ...u16(n),
    ...u16(n),
    ...u32(central.length),
    ...u32(locals.length),
    ...u16(0),
  ];
  return Uint8Array.from([...locals, ...central, ...eocd]);
}
