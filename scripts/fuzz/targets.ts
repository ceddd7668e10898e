/**
 * Fuzz targets: every parser of untrusted files, each with a generator of inputs (seed files mutated byte by byte,
 * plus inputs built field by field from the format's grammar) and the library call that reads them. The harness
 * (check.ts) holds each call to the invariant: it parses, or throws UserError with one line; bounded time and
 * output per input byte. `setup()` makes the files a target needs (a model folder with a side file and symbolic
 * links that leave it, seed images) in a temporary folder.
 */
import fc from "fast-check";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { decodeCache, writeCache } from "../../src/data/cache.js";
import { FileExamples } from "../../src/data/file-examples.js";
import { parseIdList } from "../../src/data/forget.js";
import { decodeCifarBatches } from "../../src/data/sources/cifar10.js";
import { readImageShape } from "../../src/data/sources/folder.js";
import { decodeNpy } from "../../src/io/npy.js";
import { encodeSafetensors, readSafetensors } from "../../src/io/safetensors.js";
import { readTorchFile } from "../../src/io/torch/checkpoint.js";
import { unpickle } from "../../src/io/torch/pickle.js";
import { ZipReader } from "../../src/io/torch/zip.js";
import { loadModel, readInitializers } from "../../src/onnx/model-io.js";
import { DataLocation, encodeModel, newEntry, newGraph, newModel, newOpset, newTensor } from "../../src/onnx/proto.js";
import { float32, int64, makeTensorProto } from "../../src/onnx/tensor.js";
import { scoreConfsFile } from "../../src/evaluation/challenge-score/index.js";
import { runNormalisation } from "../../src/evaluation/eval-cache.js";
import { checkSameData, readRunGroup, type Run } from "../../src/evaluation/run-data.js";
import { checkScorePair } from "../../src/evaluation/run-scores.js";
import { listRuns, readManifest, requestMismatch, requireRun, type RunManifest } from "../../src/runs/index.js";
import { parseUnlearnConfigJson } from "../../src/unlearning/config-file.js";
import { resolveUnlearnConfig } from "../../src/unlearning/config.js";
import { checkResolvedConfig, CONFIG_SEEDS, CONFS_SEEDS, manifestSeeds } from "./json-seeds.js";
import { jsonMutated } from "./json-mutate.js";
import { mutated } from "./mutate.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const CORPUS = join(HERE, "corpus");
const ROOT = join(HERE, "..", "..");
const enc = new TextEncoder();
const corpus = (name: string) => new Uint8Array(readFileSync(join(CORPUS, name)));

export interface Target {
  name: string;
  description: string;
  input: fc.Arbitrary<Uint8Array>;
  /** Reads the input; may be async. What it returns is measured for the output bound. */
  run(bytes: Uint8Array): unknown;
  /** A reader that returns "absent" for anything bad (the caches) and must never throw. */
  neverThrows?: boolean;
}

export interface Context {
  dir: string;
  targets: Target[];
  cleanup(): void;
}

// ---------------------------------------------------------------------------------------------------- onnx

function onnxSeeds(): Uint8Array[] {
  const w = makeTensorProto("w", float32([2, 3], [1, 2, 3, 4, 5, 6]));
  const shape = makeTensorProto("shape", int64([2], [1, -1]));
  const typed = newTensor({ name: "typed", dataType: 1, dims: [2n], floatData: [0.5, 1.5] });
  const ext = newTensor({
    name: "ext",
    dataType: 1,
    dims: [4n],
    dataLocation: DataLocation.EXTERNAL,
    externalData: [newEntry("location", "data.bin"), newEntry("offset", "64"), newEntry("length", "16")],
  });
  const model = (inits: ReturnType<typeof newTensor>[]) =>
    encodeModel(
      newModel({ irVersion: 8n, opsetImport: [newOpset("", 17)], graph: newGraph({ name: "g", initializer: inits }) }),
    );
  return [model([w, shape, typed]), model([w, ext]), model([ext])];
}

const LOCATIONS = [
  "data.bin",
  "sub/data.bin",
  "../data.bin",
  "sub/../data.bin",
  "/etc/passwd",
  "C:\\data.bin",
  "",
  "out-link.bin",
  "out-dir/passwd",
  "in-link.bin",
  "missing.bin",
  "sub",
  "data.bin\0x",
];
const NUMBERS = ["0", "1", "4", "16", "64", "1023", "1024", "-1", "-16", "1e9", "abc", "", "9007199254740993"];

const onnxTensor = fc.record({
  name: fc.string({ maxLength: 8 }),
  dataType: fc.integer({ min: 0, max: 25 }),
  dims: fc.array(
    fc.oneof(
      fc.integer({ min: 0, max: 6 }).map(BigInt),
      fc.constantFrom(-1n, 1_000_000_000n, 2n ** 40n, 2n ** 63n - 1n, -(2n ** 63n)),
    ),
    { maxLength: 5 },
  ),
  raw: fc.uint8Array({ maxLength: 96 }),
  floats: fc.array(fc.float(), { maxLength: 8 }),
  ints: fc.array(fc.integer(), { maxLength: 8 }),
  external: fc.option(
    fc.record({
      location: fc.option(fc.constantFrom(...LOCATIONS), { nil: undefined }),
      offset: fc.option(fc.constantFrom(...NUMBERS), { nil: undefined }),
      length: fc.option(fc.constantFrom(...NUMBERS), { nil: undefined }),
    }),
    { nil: undefined },
  ),
});

const onnxModel = fc.array(onnxTensor, { maxLength: 4 }).map((ts) =>
  encodeModel(
    newModel({
      irVersion: 8n,
      opsetImport: [newOpset("", 17)],
      graph: newGraph({
        name: "g",
        initializer: ts.map((t) => {
          const p = newTensor({ name: t.name, dataType: t.dataType, dims: t.dims });
          if (t.external) {
            p.dataLocation = DataLocation.EXTERNAL;
            const e = t.external;
            p.externalData = [
              ...(e.location !== undefined ? [newEntry("location", e.location)] : []),
              ...(e.offset !== undefined ? [newEntry("offset", e.offset)] : []),
              ...(e.length !== undefined ? [newEntry("length", e.length)] : []),
            ];
          } else if (t.raw.length) p.rawData = t.raw;
          else if (t.dataType === 1) p.floatData = t.floats;
          else p.int32Data = t.ints;
          return p;
        }),
      }),
    }),
  ),
);

/** A model folder: data.bin (1 KiB), sub/data.bin, in-link.bin -> data.bin, out-link.bin and out-dir/ outside it. */
function modelFolder(dir: string): string {
  const outside = join(dir, "outside");
  const model = join(dir, "model");
  mkdirSync(join(model, "sub"), { recursive: true });
  mkdirSync(outside);
  const bytes = Uint8Array.from({ length: 1024 }, (_, i) => i & 0xff);
  writeFileSync(join(model, "data.bin"), bytes);
  writeFileSync(join(model, "sub", "data.bin"), bytes);
  writeFileSync(join(outside, "passwd"), bytes);
  symlinkSync("data.bin", join(model, "in-link.bin"));
  symlinkSync(join(outside, "passwd"), join(model, "out-link.bin"));
  symlinkSync(outside, join(model, "out-dir"));
  return model;
}

// ---------------------------------------------------------------------------------------------- safetensors

function safetensorsSeeds(): Uint8Array[] {
  const join8 = (chunks: Uint8Array[]) => Uint8Array.from(chunks.flatMap((c) => [...c]));
  const tensors = new Map([
    ["a", float32([2, 2], [1, 2, 3, 4])],
    ["b", int64([3], [1, 2, 3])],
    ["__proto__", { dtype: "uint8" as const, dims: [0], data: new Uint8Array(0) }],
  ]);
  return [join8(encodeSafetensors(tensors, { format: "pt" })), join8(encodeSafetensors(new Map()))];
}

const DTYPES = ["F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "U16", "U32", "U64", "BOOL", "F8", "x"];
const bigDims = fc.oneof(
  fc.integer({ min: 0, max: 8 }),
  fc.constantFrom(-1, 1.5, 2 ** 31, 2 ** 53, 2 ** 60, 1e300, "3" as unknown as number),
);
const safetensorsStructured = fc
  .record({
    entries: fc.dictionary(
      fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom("__proto__", "__metadata__", "constructor")),
      fc.record({
        dtype: fc.constantFrom(...DTYPES),
        shape: fc.array(bigDims, { maxLength: 4 }),
        data_offsets: fc.array(bigDims, { maxLength: 3 }),
      }),
      { maxKeys: 4 },
    ),
    data: fc.nat(256),
    headerLength: fc.option(fc.constantFrom(0n, 7n, 2n ** 32n, 2n ** 60n, 2n ** 64n - 1n), { nil: undefined }),
  })
  .map(({ entries, data, headerLength }) => {
    const json = enc.encode(JSON.stringify(entries));
    const out = new Uint8Array(8 + json.length + data);
    new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(json.length), true);
    out.set(json, 8);
    return out;
  });

// ---------------------------------------------------------------------------------------------------- pickle

const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const text = (s: string) => [...enc.encode(s)];

/** One pickle opcode with plausible (or hostile) arguments. */
const opcode: fc.Arbitrary<number[]> = fc.oneof(
  fc.constantFrom<number[]>(
    [0x28], // MARK
    [0x30], // POP
    [0x31], // POP_MARK
    [0x32], // DUP
    [0x4e], // NONE
    [0x88],
    [0x89],
    [0x5d], // EMPTY_LIST
    [0x61], // APPEND
    [0x65], // APPENDS
    [0x6c], // LIST
    [0x29], // EMPTY_TUPLE
    [0x74], // TUPLE
    [0x85],
    [0x86],
    [0x87],
    [0x7d], // EMPTY_DICT
    [0x64], // DICT
    [0x73], // SETITEM
    [0x75], // SETITEMS
    [0x8f], // EMPTY_SET
    [0x90], // ADDITEMS
    [0x91], // FROZENSET
    [0x94], // MEMOIZE
    [0x52], // REDUCE
    [0x81], // NEWOBJ
    [0x6f], // OBJ
    [0x62], // BUILD
    [0x51], // BINPERSID
    [0x93], // STACK_GLOBAL
    [0x2e], // STOP
  ),
  fc.integer({ min: 0, max: 255 }).map((n) => [0x4b, n]), // BININT1
  fc.integer().map((n) => [0x4a, ...u32(n)]), // BININT
  fc.integer({ min: 0, max: 20 }).map((n) => [0x68, n]), // BINGET
  fc.integer({ min: 0, max: 20 }).map((n) => [0x71, n]), // BINPUT
  fc.uint8Array({ maxLength: 12 }).map((b) => [0x8a, b.length, ...b]), // LONG1
  fc.uint8Array({ maxLength: 12 }).map((b) => [0x8b, ...u32(b.length), ...b]), // LONG4
  fc.constantFrom("0", "-12", "123456789012345678901234567890", "01", "x", "1e5").map((s) => [0x49, ...text(`${s}\n`)]),
  fc.string({ maxLength: 8 }).map((s) => [0x8c, enc.encode(s).length & 0xff, ...text(s)]), // SHORT_BINUNICODE
  fc.string({ maxLength: 8 }).map((s) => [0x58, ...u32(enc.encode(s).length), ...text(s)]), // BINUNICODE
  fc.uint8Array({ maxLength: 8 }).map((b) => [0x43, b.length, ...b]), // SHORT_BINBYTES
  fc.constantFrom(0xffffffff, 2 ** 31).map((n) => [0x42, ...u32(n)]), // BINBYTES claiming too much
  fc
    .constantFrom(
      ["collections", "OrderedDict"],
      ["torch._utils", "_rebuild_tensor_v2"],
      ["torch", "FloatStorage"],
      ["torch", "Size"],
      ["builtins", "set"],
      ["_codecs", "encode"],
      ["os", "system"],
    )
    .map(([m, n]) => [0x63, ...text(`${m}\n${n}\n`)]), // GLOBAL
  fc.constantFrom("'abc'", '"x\\x41"', "'bad").map((s) => [0x53, ...text(`${s}\n`)]), // STRING
  fc.constantFrom("storage", "0").map((s) => [0x50, ...text(`${s}\n`)]), // PERSID
);

const pickleStream = fc
  .tuple(fc.array(opcode, { maxLength: 60 }), fc.boolean())
  .map(([ops, proto]) => Uint8Array.from([...(proto ? [0x80, 2] : []), ...ops.flat(), 0x2e]));

/** A torch.save zip (stored entries) around a pickle and one storage. */
function torchZip(pkl: Uint8Array, storage: Uint8Array): Uint8Array {
  const entries: [string, Uint8Array][] = [
    ["a/data.pkl", pkl],
    ["a/data/0", storage],
  ];
  const local: number[] = [];
  const central: number[] = [];
  const u16 = (n: number) => [n & 0xff, (n >>> 8) & 0xff];
  for (const [name, data] of entries) {
    const nb = text(name);
    const offset = local.length;
    const common = [...u16(0), ...u16(0), ...u16(0), ...u32(0), ...u32(data.length), ...u32(data.length)];
    local.push(...u32(0x04034b50), ...u16(20), ...u16(0), ...common, ...u16(nb.length), ...u16(0), ...nb);
    for (const b of data) local.push(b);
    central.push(...u32(0x02014b50), ...u16(20), ...u16(20), ...u16(0), ...common, ...u16(nb.length));
    central.push(...u16(0), ...u16(0), ...u16(0), ...u16(0), ...u32(0), ...u32(offset), ...nb);
  }
  const eocd = [...u32(0x06054b50), 0, 0, 0, 0, ...u16(2), ...u16(2), ...u32(central.length), ...u32(local.length)];
  return Uint8Array.from([...local, ...central, ...eocd, 0, 0]);
}

// ---------------------------------------------------------------------------------------------------- npy

const npyStructured = fc
  .record({
    version: fc.constantFrom(1, 2, 3, 4),
    descr: fc.constantFrom("<f4", "<f8", "|u1", "<i8", ">f4", "|O", "<f2", "<U3", "x"),
    fortran: fc.constantFrom("True", "False", "maybe"),
    shape: fc.array(
      fc.oneof(
        fc.integer({ min: 0, max: 5 }).map(String),
        fc.constantFrom("-1", "1e3", "9007199254740993", "4294967296", "2 ** 40", ""),
      ),
      { maxLength: 5 },
    ),
    data: fc.nat(128),
  })
  .map(({ version, descr, fortran, shape, data }) => {
    const dict = `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }\n`;
    const head = text(dict);
    const prefix = version === 1 ? [...u32(head.length).slice(0, 2)] : u32(head.length);
    return Uint8Array.from([
      0x93,
      ...text("NUMPY"),
      version,
      0,
      ...prefix,
      ...head,
      ...new Array<number>(data).fill(1),
    ]);
  });

// ---------------------------------------------------------------------------------------------------- ids

const idText = fc.oneof(
  fc.json().map((j) => text(j)),
  fc.string({ maxLength: 64 }).map(text),
  fc
    .array(
      fc.oneof(fc.integer().map(String), fc.constantFrom("1.5", "-0", "1e3", "# c", "", "x", "9007199254740993")),
      {
        maxLength: 20,
      },
    )
    .map((lines) => text(lines.join("\n"))),
  fc.array(fc.integer(), { maxLength: 200 }).map((ids) => text(JSON.stringify({ ids }))),
  fc.nat(20_000).map((n) => text(`[${"1,".repeat(n)}1]`)),
);

// ---------------------------------------------------------------------------------------------------- images

async function imageSeeds(): Promise<Uint8Array[]> {
  const raw = (w: number, h: number, c: 1 | 3 | 4) =>
    sharp(Buffer.from(Uint8Array.from({ length: w * h * c }, (_, i) => (i * 37) & 0xff)), {
      raw: { width: w, height: h, channels: c },
    });
  return [
    new Uint8Array(await raw(4, 4, 1).png().toBuffer()),
    new Uint8Array(await raw(3, 2, 3).png().toBuffer()),
    new Uint8Array(await raw(2, 2, 4).png().toBuffer()),
    new Uint8Array(await raw(8, 8, 3).jpeg().toBuffer()),
    new Uint8Array(await raw(4, 4, 3).webp({ lossless: true }).toBuffer()),
  ];
}

// ---------------------------------------------------------------------------------------------------- context

/** Makes the targets and the files they read, in a temporary folder (cleanup() removes it). */
export async function setup(): Promise<Context> {
  const dir = mkdtempSync(join(tmpdir(), "onnx-unlearn-fuzz-"));
  const modelDir = modelFolder(dir);
  const imageFile = join(dir, "images", "a", "x.img");
  mkdirSync(dirname(imageFile), { recursive: true });
  const cacheFile = join(dir, "cache.bin");
  writeCache(cacheFile, "k", {
    shape: { channels: 1, height: 2, width: 2 },
    numClasses: 3,
    ids: Int32Array.from([0, 1]),
    labels: Int32Array.from([2, 0]),
    pixels: Uint8Array.from({ length: 8 }, (_, i) => i),
    info: {},
  });
  const pth = ["state_dict.pth", "legacy.pth", "checkpoint.pth", "zip64-deflate.pth"].map(corpus);
  const malicious = new Uint8Array(readFileSync(join(ROOT, "test/fixtures/pytorch/malicious.pth")));
  const npy = ["u8.npy", "f4.npy", "i8.npy"].map(corpus);
  const images = await imageSeeds();
  const cifar = Uint8Array.from({ length: 2 * 3073 }, (_, i) => (i % 3073 === 0 ? i % 10 : (i * 7) & 0xff));
  const zipSeeds = [pth[0]!, pth[3]!];
  const manifests = manifestSeeds(JSON.parse(readFileSync(join(ROOT, "models/fmnist-5k/manifest.json"), "utf8")));
  const runsDir = join(dir, "runs");
  const confsFile = join(dir, "confs.json");
  const enc8 = (v: unknown) => enc.encode(JSON.stringify(v, null, 2));

  const targets: Target[] = [
    {
      name: "onnx",
      description: "ONNX protobuf with initializers (raw, typed, external-data references) read out",
      input: fc.oneof(mutated(onnxSeeds()), onnxModel),
      run: (bytes) => readInitializers(loadModel(bytes, { name: "fuzz.onnx", baseDir: modelDir })),
    },
    {
      name: "safetensors",
      description: "safetensors header and data",
      input: fc.oneof(mutated(safetensorsSeeds()), safetensorsStructured),
      run: (bytes) => readSafetensors(bytes, { name: "fuzz.safetensors" }),
    },
    {
      name: "torch",
      description: "torch.save files: zip and legacy, the restricted unpickler with torch's globals",
      input: fc.oneof(
        { weight: 3, arbitrary: mutated([...pth, malicious]) },
        {
          weight: 1,
          arbitrary: fc.tuple(pickleStream, fc.uint8Array({ maxLength: 64 })).map(([p, s]) => torchZip(p, s)),
        },
      ),
      run: (bytes) => readTorchFile(bytes, { name: "fuzz.pth" }),
    },
    {
      name: "pickle",
      description: "the pickle machine alone, on opcode streams (no globals allowed)",
      input: fc.oneof(pickleStream, mutated([pickleSeed()])),
      run: (bytes) => unpickle(bytes, { file: "fuzz.pkl", globals: new Map() }),
    },
    {
      name: "zip",
      description: "the zip reader (central directory, zip64 extra fields, DEFLATE), every entry read",
      input: mutated(zipSeeds, 8),
      run: (bytes) => {
        const z = new ZipReader(bytes, "fuzz.zip", 1 << 24);
        return [...z.entries.keys()].map((n) => z.read(n));
      },
    },
    {
      name: "npy",
      description: "NumPy .npy header and data",
      input: fc.oneof(mutated(npy), npyStructured),
      run: (bytes) => decodeNpy(bytes, "fuzz.npy"),
    },
    {
      name: "cifar",
      description: "CIFAR-10 binary batch records",
      input: fc.oneof(mutated([cifar]), fc.uint8Array({ maxLength: 3 * 3073 + 5 })),
      run: (bytes) => decodeCifarBatches([{ path: "data_batch_1.bin", bytes }]),
    },
    {
      name: "image",
      description: "folder images: the header (size limit) read first, then the decode with sharp",
      input: mutated(images, 4),
      run: async (bytes) => {
        writeFileSync(imageFile, bytes);
        const shape = await readImageShape(imageFile);
        const target = { channels: shape.channels, height: 8, width: 8 };
        const ex = new FileExamples({
          shape: target,
          numClasses: 1,
          files: [imageFile],
          ids: Int32Array.of(0),
          labels: Int32Array.of(0),
          resize: true,
        });
        const out = new Float32Array(target.channels * 64);
        await ex.readImages([0], out);
        return out;
      },
    },
    {
      name: "id-list",
      description: "forget id lists: JSON array, {ids: [...]}, or one id per line",
      input: idText.map((a) => Uint8Array.from(a)),
      run: (bytes) => parseIdList(Buffer.from(bytes).toString("utf8"), "ids.txt"),
    },
    {
      name: "cache",
      description: "the decoded-data cache (must read as absent when damaged, never throw)",
      input: mutated([new Uint8Array(readFileSync(cacheFile))], 4),
      run: (bytes) => decodeCache(Buffer.from(bytes), "k"),
      neverThrows: true,
    },
    {
      name: "run-folder",
      description:
        "run folders: manifest.json read (readManifest, requireRun), listed (listRuns), read as a group (readRunGroup) and checked as score and resume read them",
      input: fc.oneof(
        { weight: 3, arbitrary: jsonMutated(Object.values(manifests)) },
        { weight: 1, arbitrary: mutated(Object.values(manifests).map(enc8), 4) },
      ),
      run: (bytes) => readRunFolders(runsDir, bytes, manifests),
    },
    {
      name: "config",
      description:
        "unlearn --config files: the JSON read (parseUnlearnConfigJson), then resolveUnlearnConfig, the result checked",
      input: fc.oneof(
        { weight: 3, arbitrary: jsonMutated(CONFIG_SEEDS) },
        { weight: 1, arbitrary: mutated(CONFIG_SEEDS.map(enc8), 4) },
      ),
      run: (bytes) => {
        const config = resolveUnlearnConfig(
          parseUnlearnConfigJson(Buffer.from(bytes).toString("utf8"), "run.json"),
          "run.json",
        );
        checkResolvedConfig(config);
        return config;
      },
    },
    {
      name: "confs",
      description: "score --confs files: Python-style JSON (bare NaN, Infinity) read and scored (scoreConfsFile)",
      input: fc.oneof(
        { weight: 3, arbitrary: jsonMutated(CONFS_SEEDS, { bareNonFinite: true }) },
        { weight: 1, arbitrary: mutated(CONFS_SEEDS.map(enc8), 4) },
      ),
      run: (bytes) => {
        writeFileSync(confsFile, bytes);
        return scoreConfsFile(confsFile);
      },
    },
  ];
  return { dir, targets, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The run-folder readers on one manifest text, in one of three layouts chosen by the input's length: a single run
 * folder; a group whose run-000 is the input and run-001 a valid second run; a group of two runs that are both the
 * input. Every reader the score, report, eval and resume use is called on what it finds.
 */
function readRunFolders(root: string, bytes: Uint8Array, seeds: ReturnType<typeof manifestSeeds>): unknown {
  rmSync(root, { recursive: true, force: true });
  const layout = bytes.length % 3;
  const put = (dir: string, content: Uint8Array | string) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "manifest.json"), content);
    writeFileSync(join(dir, "model.onnx"), "not read");
  };
  const target = layout === 0 ? root : join(root, "run-000");
  put(target, bytes);
  if (layout === 1) put(join(root, "run-001"), JSON.stringify(seeds.second));
  if (layout === 2) put(join(root, "run-001"), bytes);
  const found = readManifest(target);
  if (found) requireRun(target);
  listRuns(root);
  runNormalisation(target);
  const runs = readRunGroup(root);
  checkSameData(runs);
  for (const r of runs) requestMismatch(r.manifest, seeds.unlearn as unknown as RunManifest);
  const other: Run = { dir: join(root, "other"), manifest: seeds.retrained as unknown as RunManifest };
  if (runs[0]!.manifest.kind === "unlearn") checkScorePair(runs, [other]);
  else checkScorePair([{ dir: other.dir, manifest: seeds.unlearn as unknown as RunManifest }], runs);
  return runs.map((r) => r.manifest);
}

/** A pickle of a dict of lists, tuples, ints, floats, strings, bytes, sets and memo references. */
function pickleSeed(): Uint8Array {
  return Uint8Array.from([
    0x80, 4, 0x7d, 0x94, 0x28, 0x8c, 1, 0x61, 0x94, 0x5d, 0x94, 0x28, 0x4b, 1, 0x4d, 0xe8, 3, 0x47, 0x3f, 0xf0, 0, 0, 0,
    0, 0, 0, 0x65, 0x8c, 1, 0x62, 0x43, 2, 1, 2, 0x8c, 1, 0x63, 0x8f, 0x28, 0x4b, 5, 0x90, 0x8c, 1, 0x64, 0x68, 1, 0x75,
    0x2e,
  ]);
}
