import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { UserError } from "../../src/errors.js";
import {
  beginRun,
  canonicalJson,
  claimRun,
  CLAIM_FILE,
  finishRun,
  listRuns,
  readManifest,
  requestMismatch,
  requireRun,
  runDir,
  runDirName,
  runState,
  RUN_FORMAT,
  sha256Bytes,
  sha256Ids,
  sha256Json,
  type RunManifest,
} from "../../src/runs/index.js";
import { tempDir } from "../data/make-data.js";

function manifest(over: Partial<RunManifest> = {}): RunManifest {
  return {
    format: RUN_FORMAT,
    kind: "unlearn",
    method: "stochastic",
    run: { index: 0, of: 1, seed: 0, forgetSeed: 0 },
    input: { model: "m.onnx", sha256: "aa" },
    output: { model: "model.onnx", sha256: "bb" },
    data: { spec: "npy:x,y" },
    retain: { count: 9, idsSha256: "cc" },
    forget: { spec: "random:1", count: 1, idsSha256: "dd" },
    readsForget: false,
    config: { epochs: [1, 2, 2] },
    epochs: [],
    seconds: { total: 1 },
    executionProvider: "cpu",
    environment: {
      package: "0",
      onnxruntime: "0",
      node: "20",
      host: { name: "h", platform: "p", cpus: 1, cpuModel: "c", memoryGiB: 1 },
    },
    finished: "2026-01-01T00:00:00.000Z",
    ...over,
  };
}

describe("runs/run-folder", () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir("runs")));
  afterEach(() => tmp.remove());

  it("names run folders run-000.. and puts a single run in the folder itself", () => {
    expect(runDirName(7)).to.equal("run-007");
    expect(runDirName(1234)).to.equal("run-1234");
    expect(runDir("/o", 3, true)).to.equal(join("/o", "run-003"));
    expect(runDir("/o", 0, false)).to.equal("/o");
  });

  it("a run is complete only once its manifest is written, last", () => {
    const dir = join(tmp.dir, "r");
    expect(runState(dir)).to.equal("absent");
    beginRun(dir);
    expect(runState(dir)).to.equal("incomplete");
    expect(() => finishRun(dir, manifest())).to.throw(/has no model\.onnx/);
    expect(runState(dir)).to.equal("incomplete");
    writeFileSync(join(dir, "model.onnx"), "model");
    writeFileSync(join(dir, "checkpoint.safetensors"), "state");
    finishRun(dir, manifest());
    expect(runState(dir)).to.equal("complete");
    expect(existsSync(join(dir, "checkpoint.safetensors"))).to.equal(false);
    expect(readManifest(dir)).to.deep.equal(manifest());
    expect(requireRun(dir).method).to.equal("stochastic");
    expect(readdirSync(dir).sort()).to.deep.equal(["manifest.json", "model.onnx"]);
  });

  it("a manifest that is half-written, garbage or of another format makes the run incomplete", () => {
    const dir = join(tmp.dir, "r");
    mkdirSync(dir);
    for (const text of [
      '{"format": "onnx-unl',
      "not json",
      JSON.stringify({ ...manifest(), format: "other/1" }),
      "null",
    ]) {
      writeFileSync(join(dir, "manifest.json"), text);
      expect(runState(dir), text).to.equal("incomplete");
      expect(readManifest(dir)).to.equal(undefined);
      expect(() => requireRun(dir)).to.throw(UserError, /is not a complete run folder/);
    }
    expect(() => requireRun(join(tmp.dir, "nothing"))).to.throw(UserError, /nothing: does not exist/);
  });

  it("beginRun clears what an interrupted attempt left, and refuses folders that are not run folders", () => {
    const dir = join(tmp.dir, "r");
    mkdirSync(join(dir, "eval"), { recursive: true });
    writeFileSync(join(dir, "model.onnx"), "partial");
    writeFileSync(join(dir, ".model.onnx.123.tmp"), "temp");
    writeFileSync(join(dir, "checkpoint.safetensors"), "state");
    beginRun(dir, { keepCheckpoint: true }); // the attempt continues from the checkpoint
    expect(readdirSync(dir)).to.deep.equal(["checkpoint.safetensors"]);
    beginRun(dir); // it starts over
    expect(readdirSync(dir)).to.deep.equal([]);

    const foreign = join(tmp.dir, "home");
    mkdirSync(foreign);
    writeFileSync(join(foreign, "thesis.tex"), "precious");
    expect(() => beginRun(foreign)).to.throw(UserError, /home: is not a run folder \(holds thesis\.tex\)/);
    expect(readFileSync(join(foreign, "thesis.tex"), "utf8")).to.equal("precious");

    const file = join(tmp.dir, "file");
    writeFileSync(file, "x");
    expect(() => beginRun(file)).to.throw(UserError, /expected a run folder, found a file/);
  });

  it("requestMismatch names the field a finished run differs in, and ignores times and hosts", () => {
    const done = manifest();
    expect(requestMismatch(done, manifest({ seconds: { total: 99 }, finished: "later" }))).to.equal(undefined);
    expect(requestMismatch(done, manifest({ config: { epochs: [1, 2, 2] }, threads: 4 }))).to.equal(undefined);
    const cases: [Partial<RunManifest>, string][] = [
      [{ input: { model: "m.onnx", sha256: "other" } }, "input model"],
      [{ forget: { spec: "random:2", count: 2, idsSha256: "ee" } }, "forget"],
      [{ retain: { count: 8, idsSha256: "ff" } }, "retain"],
      [{ data: { spec: "npy:y,x" } }, "data"],
      [{ run: { index: 0, of: 1, seed: 1, forgetSeed: 0 } }, "seed"],
      [{ run: { index: 0, of: 1, seed: 0, forgetSeed: 1 } }, "forgetSeed"],
      [{ method: "finetune" }, "method"],
      [{ config: { epochs: [1] } }, "config"],
    ];
    for (const [over, field] of cases) {
      expect(requestMismatch(done, manifest(over)), field).to.equal(`it was made with another ${field}`);
    }
  });

  it("listRuns: the folder itself when it is a run, else its run-NNN folders in order", () => {
    const group = join(tmp.dir, "g");
    for (const r of ["run-002", "run-000", "run-001", "notes"]) mkdirSync(join(group, r), { recursive: true });
    expect(listRuns(group)).to.deep.equal(["run-000", "run-001", "run-002"].map((r) => join(group, r)));
    writeFileSync(join(group, "run-000", "model.onnx"), "m");
    expect(listRuns(join(group, "run-000"))).to.deep.equal([join(group, "run-000")]);
    expect(() => listRuns(join(tmp.dir, "none"))).to.throw(UserError, /does not exist/);
  });
});

describe("runs/claim", () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir("claim")));
  afterEach(() => tmp.remove());

  it("one claim at a time; released, it can be taken again", () => {
    const dir = join(tmp.dir, "r");
    const a = claimRun(dir);
    expect("release" in a).to.equal(true);
    const b = claimRun(dir);
    expect(b)
      .to.have.property("heldBy")
      .that.matches(new RegExp(`${hostname()} pid ${process.pid}`));
    (a as { release(): void }).release();
    expect(existsSync(join(dir, CLAIM_FILE))).to.equal(false);
    const c = claimRun(dir);
    expect("release" in c).to.equal(true);
    (c as { release(): void }).release();
  });

  it("a claim whose maker died (same host) or that is unreadable is taken over", () => {
    const dir = join(tmp.dir, "r");
    mkdirSync(dir);
    const dead = spawnSync(process.execPath, ["-e", ""]).pid!;
    for (const text of [JSON.stringify({ host: hostname(), pid: dead, since: "then" }), "{half"]) {
      writeFileSync(join(dir, CLAIM_FILE), text);
      const c = claimRun(dir);
      expect("release" in c, text).to.equal(true);
      expect(JSON.parse(readFileSync(join(dir, CLAIM_FILE), "utf8")).pid).to.equal(process.pid);
      (c as { release(): void }).release();
    }
  });

  it("a claim from another host is respected", () => {
    const dir = join(tmp.dir, "r");
    mkdirSync(dir);
    writeFileSync(join(dir, CLAIM_FILE), JSON.stringify({ host: "elsewhere", pid: 1, since: "then" }));
    expect(claimRun(dir)).to.deep.equal({ heldBy: "elsewhere pid 1 since then" });
  });
});

describe("runs/hash", () => {
  it("sha256Ids hashes the ids sorted numerically, one per line", () => {
    const expected = sha256Bytes("2\n10\n300\n");
    expect(sha256Ids([300, 2, 10])).to.equal(expected);
    expect(sha256Ids(Int32Array.from([10, 300, 2]))).to.equal(expected);
    expect(sha256Ids([2, 10])).to.not.equal(expected);
  });

  it("canonicalJson sorts keys at every level and keeps array order", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 1], c: null } })).to.equal('{"a":{"c":null,"d":[3,1]},"b":1}');
    expect(sha256Json({ x: 1, y: 2 })).to.equal(sha256Json({ y: 2, x: 1 }));
    expect(sha256Json({ x: [1, 2] })).to.not.equal(sha256Json({ x: [2, 1] }));
  });
});
