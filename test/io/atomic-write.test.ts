import { expect } from "chai";
import { spawn } from "node:child_process";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserError } from "../../src/errors.js";
import { AtomicFile, removeStaleTemps, writeFileAtomic } from "../../src/io/atomic-write.js";

const temps = (dir: string) => readdirSync(dir).filter((n) => n.endsWith(".tmp"));

/** Runs test/io/atomic-child.ts, sends `signal` once it says "ready" (after `delayMs`), resolves on exit. */
function runChild(mode: string, dir: string, signal: NodeJS.Signals, delayMs = 0) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>((done, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", "test/io/atomic-child.ts", mode, dir], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    let sent = false;
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (!sent && out.includes("ready")) {
        sent = true;
        setTimeout(() => child.kill(signal), delayMs);
      }
      if (out.includes("handled")) child.kill("SIGKILL");
    });
    child.on("error", fail);
    child.on("exit", (code, sig) => done({ code, signal: sig, out }));
  });
}

describe("io/atomic-write", () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), "atomic-"));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it("replaces the file whole and leaves no temporary file", () => {
    const p = join(tmp, "a.bin");
    writeFileAtomic(p, new Uint8Array([1, 2]));
    writeFileAtomic(p, [new Uint8Array([3]), new Uint8Array([4, 5])]);
    expect([...readFileSync(p)]).to.deep.equal([3, 4, 5]);
    expect(temps(tmp)).to.deep.equal([]);
  });

  it("keeps the mode of the file it replaces", () => {
    const p = join(tmp, "secret.bin");
    writeFileSync(p, "old");
    chmodSync(p, 0o600);
    writeFileAtomic(p, new Uint8Array([1]));
    expect(statSync(p).mode & 0o777).to.equal(0o600);
    chmodSync(p, 0o751);
    writeFileAtomic(p, new Uint8Array([2]));
    expect(statSync(p).mode & 0o777).to.equal(0o751);
  });

  it("writes through a symbolic link: the file it names is replaced, the link stays", () => {
    const real = join(tmp, "real.bin");
    const link = join(tmp, "link.bin");
    writeFileSync(real, "old");
    symlinkSync("real.bin", link);
    writeFileAtomic(link, new TextEncoder().encode("new"));
    expect(lstatSync(link).isSymbolicLink()).to.equal(true);
    expect(readFileSync(real, "utf8")).to.equal("new");
    // a link to a file that does not exist yet creates that file
    symlinkSync("later.bin", join(tmp, "dangling.bin"));
    writeFileAtomic(join(tmp, "dangling.bin"), new TextEncoder().encode("x"));
    expect(readFileSync(join(tmp, "later.bin"), "utf8")).to.equal("x");
    expect(temps(tmp)).to.deep.equal([]);
  });

  describe("bad targets (refused before anything is created)", () => {
    it("a device such as /dev/null", () => {
      expect(() => writeFileAtomic("/dev/null", new Uint8Array(1))).to.throw(UserError, /\/dev\/null: is a device/);
      expect(statSync("/dev/null").isCharacterDevice()).to.equal(true);
      // and through a link to it
      symlinkSync("/dev/null", join(tmp, "null-link"));
      expect(() => writeFileAtomic(join(tmp, "null-link"), new Uint8Array(1))).to.throw(UserError, /is a device/);
    });
    it("a folder", () => {
      mkdirSync(join(tmp, "d"));
      expect(() => writeFileAtomic(join(tmp, "d"), new Uint8Array(1))).to.throw(
        UserError,
        /is a folder; expected a file/,
      );
    });
    it("a missing folder, a file used as a folder, an empty path", () => {
      expect(() => writeFileAtomic(join(tmp, "no/such/x.bin"), new Uint8Array(1))).to.throw(
        UserError,
        /does not exist/,
      );
      writeFileSync(join(tmp, "f"), "");
      expect(() => writeFileAtomic(join(tmp, "f/x.bin"), new Uint8Array(1))).to.throw(UserError, /not a folder/);
      expect(() => writeFileAtomic("", new Uint8Array(1))).to.throw(UserError, /is empty/);
      expect(temps(tmp)).to.deep.equal([]);
    });
  });

  it("removes stale temporary files of its naming on the next write to the folder", () => {
    const dead = join(tmp, `.model.onnx.999999999.${Date.now()}.tmp`);
    const mine = join(tmp, `.model.onnx.${process.pid}.1.tmp`); // our pid, but not a file we have open
    const alive = join(tmp, `.model.onnx.1.${Date.now()}.tmp`); // pid 1 exists
    const other = join(tmp, ".notes.tmp"); // not our naming
    for (const p of [dead, mine, alive, other]) writeFileSync(p, "x");
    const open = new AtomicFile(join(tmp, "busy.bin")); // open while the sweep runs: kept
    writeFileAtomic(join(tmp, "model.onnx"), new Uint8Array([1]));
    expect(existsSync(dead)).to.equal(false);
    expect(existsSync(mine)).to.equal(false);
    expect(existsSync(alive)).to.equal(true);
    expect(existsSync(other)).to.equal(true);
    expect(temps(tmp).filter((n) => n.startsWith(".busy.bin."))).to.have.length(1);
    open.abort();
    expect(removeStaleTemps(tmp)).to.deep.equal([]);
  });

  it("abort removes the temporary file; a failed write leaves the old file", () => {
    const p = join(tmp, "keep.bin");
    writeFileSync(p, "old");
    const f = new AtomicFile(p);
    f.write(new Uint8Array(10));
    f.abort();
    expect(readFileSync(p, "utf8")).to.equal("old");
    expect(temps(tmp)).to.deep.equal([]);
    expect(() => writeFileAtomic(p, [new Uint8Array(1), null as unknown as Uint8Array])).to.throw();
    expect(readFileSync(p, "utf8")).to.equal("old");
    expect(temps(tmp)).to.deep.equal([]);
  });

  describe("signals", function () {
    this.timeout(60_000);
    it("SIGINT while a temporary file is open removes it, and the process still dies by SIGINT", async () => {
      const r = await runChild("open", tmp, "SIGINT");
      expect(r.signal).to.equal("SIGINT");
      expect(temps(tmp)).to.deep.equal([]);
      expect(existsSync(join(tmp, "out.bin"))).to.equal(false);
    });
    it("SIGTERM too", async () => {
      const r = await runChild("open", tmp, "SIGTERM");
      expect(r.signal).to.equal("SIGTERM");
      expect(temps(tmp)).to.deep.equal([]);
    });
    it("the signal listeners stay after a write: a signal libuv caught but has not dispatched yet is not dropped", async () => {
      writeFileAtomic(join(tmp, "a.bin"), new Uint8Array(1));
      const count = process.listenerCount("SIGINT");
      expect(count).to.be.at.least(1);
      await new Promise((done) => setImmediate(done));
      await new Promise((done) => setImmediate(done));
      expect(process.listenerCount("SIGINT")).to.equal(count);
    });
    it("SIGINT at random moments of a write loop: never a temporary file, the output always whole", async () => {
      for (let k = 0; k < 4; k++) {
        const r = await runChild("loop", tmp, "SIGINT", Math.floor(Math.random() * 200));
        expect(r.signal).to.equal("SIGINT");
        expect(temps(tmp)).to.deep.equal([]);
        const out = readFileSync(join(tmp, "out.bin"));
        expect(out.length).to.equal(1 << 20);
        expect(out.every((b) => b === out[0])).to.equal(true);
      }
    });
    it("a program that handles SIGINT itself keeps its write; the next write cleans up after a SIGKILL", async () => {
      const r = await runChild("handled", tmp, "SIGINT");
      expect(r.out).to.include("handled");
      expect(r.signal).to.equal("SIGKILL");
      expect(temps(tmp)).to.have.length(1); // killed with the file open
      writeFileAtomic(join(tmp, "next.bin"), new Uint8Array(1));
      expect(temps(tmp)).to.deep.equal([]);
    });
  });
});
