/** The environment a manifest records: versions, host, and the checkout's commit with whether it had changes. */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { gitCheckout, runEnvironment } from "../../src/runs/environment.js";

describe("runs/environment", () => {
  it("records the checkout's commit and whether tracked files had uncommitted changes", function () {
    let head: string;
    try {
      head = execFileSync("git", ["rev-parse", "HEAD"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim();
    } catch {
      this.skip(); // not a git checkout (an installed package): neither is recorded
    }
    const changes = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { encoding: "utf8" });
    expect(gitCheckout()).to.deep.equal({ commit: head!, dirty: changes.trim() !== "" });
    const env = runEnvironment();
    expect(env.commit).to.equal(head!);
    expect(env.dirty).to.be.a("boolean");
    expect(env.host.cpus).to.be.greaterThan(0);
  });
});
