/**
 * A restricted unpickler (protocols 0-5). It never imports or calls anything from the file: a GLOBAL
 * opcode is looked up in the caller's allowlist of JavaScript stand-ins, and any other global is refused
 * with a UserError naming it, before anything that would use it is read. Containers become JS values:
 * list and tuple -> array, dict -> Map, set -> Set, bytes -> Uint8Array, str -> string, int -> number
 * (bigint beyond 2^53), float -> number, None -> null.
 *
 * Work is bounded by the input: every opcode is O(its own bytes) (MARK keeps a stack of stacks, as CPython does,
 * so closing a mark never scans; LONG1/LONG4 convert in linear time; decimal integers longer than Python's own
 * limit of 4300 digits are refused), and nothing recurses, so deep nesting cannot overflow the stack.
 */
import { UserError } from "../../errors.js";

export type PyValue = unknown;

/** What an allowlisted global does when the pickle calls it (REDUCE / NEWOBJ) or builds it (BUILD). */
export interface PyGlobal {
  readonly qualname: string;
  call?(args: PyValue[]): PyValue;
}

export interface UnpickleOptions {
  /** File name for messages. */
  file: string;
  /** Allowed globals by "module.name". */
  globals: ReadonlyMap<string, PyGlobal>;
  /** Resolves a persistent id (torch uses them for tensor storages). Without it, persistent ids are refused. */
  persistentLoad?(pid: PyValue): PyValue;
  /** Offset of the pickle in `bytes` (default 0). */
  offset?: number;
}

export interface Unpickled {
  value: PyValue;
  end: number;
}

/** CPython's limit on decimal digits in an int conversion (sys.get_int_max_str_digits()). */
const MAX_DECIMAL_DIGITS = 4300;
/** Bytes as code points 0-255 (TextDecoder's "latin1" is really windows-1252). */
const latin1 = (b: Uint8Array): string => {
  let s = "";
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
};
const isGlobal = (v: unknown): v is PyGlobal => typeof v === "object" && v !== null && "qualname" in v;

/** Runs the pickle starting at `opts.offset`; returns its value and the offset after its STOP opcode. */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions): Unpickled {
  return new Machine(bytes, opts).run();
}

class Machine {
  private pos: number;
  private stack: unknown[] = [];
  /** The stacks below each open MARK. */
  private readonly marks: unknown[][] = [];
  private readonly memo = new Map<number, unknown>();
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly opts: UnpickleOptions,
  ) {
    this.pos = opts.offset ?? 0;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private fail(msg: string): never {
    throw new UserError(msg, this.opts.file);
  }

  private take(n: number): Uint8Array {
    if (n < 0 || this.pos + n > this.bytes.length) this.fail("pickle data ends early (truncated file?)");
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  private u8 = () => this.take(1)[0]!;
  private le(n: 1 | 2 | 4 | 8, signed = false): number {
    const b = this.take(n);
    const dv = new DataView(b.buffer, b.byteOffset, n);
    if (n === 1) return b[0]!;
    if (n === 2) return dv.getUint16(0, true);
    if (n === 4) return signed ? dv.getInt32(0, true) : dv.getUint32(0, true);
    const v = dv.getBigUint64(0, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail("pickle length field is implausibly large");
    return Number(v);
  }
  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) this.fail("pickle data ends early (truncated file?)");
    const s = latin1(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }
  private utf8 = (n: number) => new TextDecoder().decode(this.take(n));
  private latin1 = (n: number) => latin1(this.take(n));

  private pop(): unknown {
    if (this.stack.length === 0) this.fail("malformed pickle (stack underflow)");
    return this.stack.pop();
  }
  private top(): unknown {
    if (this.stack.length === 0) this.fail("malformed pickle (stack underflow)");
    return this.stack[this.stack.length - 1];
  }
  /** Pushes onto the current stack, read after `v` is computed (popMark() may have switched stacks meanwhile). */
  private push(v: unknown): void {
    this.stack.push(v);
  }
  private pushMark(): void {
    this.marks.push(this.stack);
    this.stack = [];
  }
  private popMark(): unknown[] {
    const below = this.marks.pop();
    if (below === undefined) this.fail("malformed pickle (no MARK)");
    const items = this.stack;
    this.stack = below;
    return items;
  }
  private memoGet(k: number): unknown {
    if (!this.memo.has(k)) this.fail(`malformed pickle (memo key ${k} unset)`);
    return this.memo.get(k);
  }

  private global(module: string, name: string): PyGlobal {
    const q = `${module}.${name}`;
    const g = this.opts.globals.get(q);
    if (!g) {
      this.fail(
        `refuses to load: the pickle references global '${q}', which is not allowed (only tensor and plain-data globals such as ${[...this.opts.globals.keys()].slice(0, 2).join(", ")}); nothing was executed`,
      );
    }
    return g;
  }

  private call(fn: unknown, args: unknown): unknown {
    if (!isGlobal(fn) || !fn.call)
      this.fail(`malformed pickle (calls ${isGlobal(fn) ? `'${fn.qualname}'` : "a non-callable"})`);
    if (!Array.isArray(args)) this.fail(`malformed pickle (arguments of '${fn.qualname}' are not a tuple)`);
    return fn.call(args);
  }

  private setItems(target: unknown, items: unknown[]): void {
    if (!(target instanceof Map)) this.fail("malformed pickle (SETITEM on a non-dict)");
    for (let i = 0; i + 1 < items.length; i += 2) target.set(items[i], items[i + 1]);
  }

  private append(target: unknown, items: unknown[]): void {
    if (!Array.isArray(target)) this.fail("malformed pickle (APPEND on a non-list)");
    for (const x of items) target.push(x); // not push(...items): a spread of 300k items overflows the stack
  }

  run(): Unpickled {
    for (;;) {
      const op = this.u8();
      switch (op) {
        case 0x80:
          this.u8();
          break; // PROTO
        case 0x95:
          this.le(8);
          break; // FRAME
        case 0x2e:
          return { value: this.pop(), end: this.pos }; // STOP
        case 0x28:
          this.pushMark();
          break; // MARK
        case 0x30:
          this.pop();
          break; // POP
        case 0x31:
          this.popMark();
          break; // POP_MARK
        case 0x32:
          this.push(this.top());
          break; // DUP
        case 0x4e:
          this.push(null);
          break; // NONE
        case 0x88:
          this.push(true);
          break;
        case 0x89:
          this.push(false);
          break;
        case 0x49: {
          // INT
          const t = this.line();
          this.push(t === "01" ? true : t === "00" ? false : this.parseInt(t));
          break;
        }
        case 0x4a:
          this.push(this.le(4, true));
          break; // BININT
        case 0x4b:
          this.push(this.le(1));
          break; // BININT1
        case 0x4d:
          this.push(this.le(2));
          break; // BININT2
        case 0x4c:
          this.push(this.parseInt(this.line().replace(/L$/, "")));
          break; // LONG
        case 0x8a:
          this.push(this.long(this.le(1)));
          break; // LONG1
        case 0x8b:
          this.push(this.long(this.le(4)));
          break; // LONG4
        case 0x46:
          this.push(Number.parseFloat(this.line()));
          break; // FLOAT
        case 0x47: {
          const b = this.take(8);
          this.push(new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, false));
          break;
        }
        case 0x53:
          this.push(this.pyStringLiteral(this.line()));
          break; // STRING
        case 0x54:
          this.push(this.latin1(this.le(4)));
          break; // BINSTRING
        case 0x55:
          this.push(this.latin1(this.le(1)));
          break; // SHORT_BINSTRING
        case 0x42:
          this.push(new Uint8Array(this.take(this.le(4))));
          break; // BINBYTES
        case 0x43:
          this.push(new Uint8Array(this.take(this.le(1))));
          break; // SHORT_BINBYTES
        case 0x8e:
        case 0x96:
          this.push(new Uint8Array(this.take(this.le(8))));
          break; // BINBYTES8, BYTEARRAY8
        case 0x56:
          this.push(
            this.line().replace(/\\u([0-9a-fA-F]{4})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
          );
          break;
        case 0x58:
          this.push(this.utf8(this.le(4)));
          break; // BINUNICODE
        case 0x8c:
          this.push(this.utf8(this.le(1)));
          break; // SHORT_BINUNICODE
        case 0x8d:
          this.push(this.utf8(this.le(8)));
          break; // BINUNICODE8
        case 0x5d:
          this.push([]);
          break; // EMPTY_LIST
        case 0x61: {
          const v = this.pop();
          this.append(this.top(), [v]);
          break;
        } // APPEND
        case 0x65: {
          const items = this.popMark();
          this.append(this.top(), items);
          break;
        } // APPENDS
        case 0x6c:
          this.push(this.popMark());
          break; // LIST
        case 0x29:
          this.push([]);
          break; // EMPTY_TUPLE
        case 0x74:
          this.push(this.popMark());
          break; // TUPLE
        case 0x85:
          this.push([this.pop()]);
          break;
        case 0x86: {
          const b = this.pop();
          this.push([this.pop(), b]);
          break;
        }
        case 0x87: {
          const c = this.pop();
          const b = this.pop();
          this.push([this.pop(), b, c]);
          break;
        }
        case 0x7d:
          this.push(new Map());
          break; // EMPTY_DICT
        case 0x64: {
          const m = new Map();
          this.setItems(m, this.popMark());
          this.push(m);
          break;
        } // DICT
        case 0x73: {
          const v = this.pop();
          const k = this.pop();
          this.setItems(this.top(), [k, v]);
          break;
        } // SETITEM
        case 0x75: {
          const items = this.popMark();
          this.setItems(this.top(), items);
          break;
        } // SETITEMS
        case 0x8f:
          this.push(new Set());
          break; // EMPTY_SET
        case 0x90: {
          // ADDITEMS
          const items = this.popMark();
          const set = this.top();
          if (!(set instanceof Set)) this.fail("malformed pickle (ADDITEMS on a non-set)");
          items.forEach((x) => set.add(x));
          break;
        }
        case 0x91:
          this.push(new Set(this.popMark()));
          break; // FROZENSET
        case 0x67:
          this.push(this.memoGet(this.parseIntNumber(this.line())));
          break; // GET
        case 0x68:
          this.push(this.memoGet(this.le(1)));
          break; // BINGET
        case 0x6a:
          this.push(this.memoGet(this.le(4)));
          break; // LONG_BINGET
        case 0x70:
          this.memo.set(this.parseIntNumber(this.line()), this.top());
          break; // PUT
        case 0x71:
          this.memo.set(this.le(1), this.top());
          break; // BINPUT
        case 0x72:
          this.memo.set(this.le(4), this.top());
          break; // LONG_BINPUT
        case 0x94:
          this.memo.set(this.memo.size, this.top());
          break; // MEMOIZE
        case 0x63: {
          const module = this.line();
          this.push(this.global(module, this.line()));
          break;
        } // GLOBAL
        case 0x93: {
          // STACK_GLOBAL
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== "string" || typeof name !== "string")
            this.fail("malformed pickle (STACK_GLOBAL needs two strings)");
          this.push(this.global(module, name));
          break;
        }
        case 0x52: {
          const args = this.pop();
          this.push(this.call(this.pop(), args));
          break;
        } // REDUCE
        case 0x81: {
          const args = this.pop();
          this.push(this.call(this.pop(), args));
          break;
        } // NEWOBJ
        case 0x69: {
          // INST
          const module = this.line();
          const g = this.global(module, this.line());
          this.push(this.call(g, this.popMark()));
          break;
        }
        case 0x6f: {
          const [cls, ...args] = this.popMark();
          this.push(this.call(cls, args));
          break;
        } // OBJ
        case 0x62:
          this.build(this.pop(), this.top());
          break; // BUILD
        case 0x50:
          this.push(this.persistent(this.line()));
          break; // PERSID
        case 0x51:
          this.push(this.persistent(this.pop()));
          break; // BINPERSID
        default:
          this.fail(
            `pickle uses opcode 0x${op.toString(16)} at byte ${this.pos - 1}, which this loader does not accept`,
          );
      }
    }
  }

  private persistent(pid: unknown): unknown {
    if (!this.opts.persistentLoad) this.fail("pickle refers to external storage, which is not allowed here");
    return this.opts.persistentLoad(pid);
  }

  /** BUILD sets an object's state: allowed only on dicts (torch puts `_metadata` there), where it is dropped. */
  private build(_state: unknown, target: unknown): void {
    if (!(target instanceof Map)) this.fail("pickle sets the state of an object, which this loader does not accept");
  }

  private parseInt(t: string): number | bigint {
    const digits = t.trim();
    if (digits.length > MAX_DECIMAL_DIGITS + 1)
      this.fail(`pickle integer has more than ${MAX_DECIMAL_DIGITS} digits (Python's own limit)`);
    if (!/^[-+]?\d+$/.test(digits)) this.fail(`malformed pickle integer '${t.slice(0, 40)}'`);
    const b = BigInt(digits);
    return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
  }
  private parseIntNumber(t: string): number {
    const v = this.parseInt(t);
    return typeof v === "number" ? v : this.fail("malformed pickle (memo key too large)");
  }

  /** A little-endian two's-complement integer of n bytes, in time linear in n (one hex parse). */
  private long(n: number): number | bigint {
    const b = this.take(n);
    if (n === 0) return 0;
    const hex = Buffer.from(b).reverse().toString("hex");
    let v = BigInt(`0x${hex}`);
    if (b[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  private pyStringLiteral(t: string): string {
    const q = t[0];
    if ((q !== "'" && q !== '"') || t[t.length - 1] !== q) this.fail("malformed pickle string literal");
    return t
      .slice(1, -1)
      .replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_, e: string) =>
        e[0] === "x"
          ? String.fromCharCode(parseInt(e.slice(1), 16))
          : (({ n: "\n", t: "\t", r: "\r", "\\": "\\", "'": "'", '"': '"' } as Record<string, string>)[e] ?? e),
      );
  }
}
