/** The environment a manifest records: versions, host, and the checkout's commit with whether it had changes. */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { cpuDetails, cpuSummary, gitCheckout, hostLabel, runEnvironment } from "../../src/runs/environment.js";

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

  it("names the CPU's family, model and widest vector instruction set, which one model name can hide", () => {
    const x86 = (flags: string) =>
      `processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\nmodel name\t: AMD EPYC\nstepping\t: 1\nflags\t\t: ${flags}\n`;
    expect(cpuDetails(x86("fpu sse2 avx avx2 fma avx512f avx512bw"))).to.deep.equal({
      cpuId: "family 25 model 17 stepping 1",
      vectorIsa: "avx512",
    });
    expect(cpuDetails(x86("fpu sse2 avx avx2 fma")).vectorIsa).to.equal("avx2");
    expect(cpuDetails(x86("fpu sse2")).vectorIsa).to.equal("none");
    expect(cpuDetails("processor\t: 0\nFeatures\t: fp asimd evtstrm aes\nCPU implementer\t: 0x41\n")).to.deep.equal({
      vectorIsa: "neon",
    });
    expect(cpuDetails(undefined)).to.deep.equal({});
    const host = {
      name: "h",
      cpus: 2,
      cpuModel: "AMD EPYC",
      cpuId: "family 25 model 17 stepping 1",
      vectorIsa: "avx512",
    };
    expect(cpuSummary(host)).to.equal("2 x AMD EPYC (family 25 model 17 stepping 1, avx512)");
    expect(hostLabel(host)).to.equal("h (2 cpus, AMD EPYC, family 25 model 17 stepping 1, avx512)");
    // manifests written before these fields existed
    expect(hostLabel({ name: "h", cpus: 2, cpuModel: "AMD EPYC" })).to.equal("h (2 cpus, AMD EPYC)");
  });
});
