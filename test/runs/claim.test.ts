import { expect } from "chai";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { claimRun, clearStaleClaim, CLAIM_FILE } from "../../src/runs/index.js";

describe("runs/claim", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "claim-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const write = (v: unknown) => writeFileSync(join(dir, CLAIM_FILE), typeof v === "string" ? v : JSON.stringify(v));
  const DEAD = 2 ** 30; // above Linux's pid_max: no such process
  const since = new Date().toISOString();

  it("clearStaleClaim removes a claim whose maker is gone, or that cannot be read, and keeps a live or foreign one", () => {
    write({ host: hostname(), pid: DEAD, since });
    clearStaleClaim(dir);
    expect(existsSync(join(dir, CLAIM_FILE))).to.equal(false);
    write("{half");
    clearStaleClaim(dir);
    expect(existsSync(join(dir, CLAIM_FILE))).to.equal(false);
    write({ host: hostname(), pid: process.pid, since });
    clearStaleClaim(dir);
    expect(existsSync(join(dir, CLAIM_FILE))).to.equal(true);
    write({ host: `${hostname()}-elsewhere`, pid: DEAD, since });
    clearStaleClaim(dir);
    expect(existsSync(join(dir, CLAIM_FILE))).to.equal(true);
    clearStaleClaim(join(dir, "missing")); // no folder, no claim: nothing to do
  });

  it("claimRun takes over a stale claim and refuses a live one", () => {
    write({ host: hostname(), pid: DEAD, since });
    const mine = claimRun(dir);
    expect("release" in mine).to.equal(true);
    const other = claimRun(dir);
    expect(other).to.have.property("heldBy").that.includes(`pid ${process.pid}`);
    if ("release" in mine) mine.release();
    expect(existsSync(join(dir, CLAIM_FILE))).to.equal(false);
  });
});
