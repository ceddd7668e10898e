/**
 * The peak-memory estimate and its budget: the estimate grows with the batch and the model, the budget is parsed
 * from sizes and read from the cgroup when that is smaller than the machine, and a refusal is one line with the
 * estimate's terms. (That the estimate bounds real jobs' peak RSS is measured, not tested: docs/RELIABILITY.md.)
 */
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../../src/errors.js";
import { buildZooModel } from "../../src/models/index.js";
import type { ModelFile } from "../../src/onnx/model-io.js";
import {
  checkMemoryBudget,
  defaultMemoryBudget,
  estimateMemory,
  modelMemory,
  parseMemorySize,
  resolveMemoryBudget,
  RUNTIME_BYTES,
  type MemoryStage,
  type ModelMemory,
} from "../../src/training/memory/index.js";
import { tempDir } from "../data/make-data.js";

const GiB = 2 ** 30;
const zoo = (width: number): ModelFile => ({
  proto: buildZooModel("resnet18", { width, channels: 1, classes: 10, imageSize: 28, stem: "small", seed: 0 }),
  file: `resnet18 width ${width}`,
});
const stage = (batchSize: number, use: MemoryStage["use"] = "train"): MemoryStage => ({
  what: "train",
  use,
  batchSize,
});

describe("training/memory", function () {
  this.timeout(60000);
  let w4: ModelMemory;
  let w8: ModelMemory;
  before(async () => {
    [w4, w8] = [await modelMemory(zoo(4)), await modelMemory(zoo(8))];
  });

  it("measures a model's weights and its forward values per example", () => {
    // ResNet-18 at width 8: 0.69 MiB of float32 weights and BN statistics (the shipped fmnist-5k model's size)
    expect(w8.weightBytes).to.be.within(0.6 * 2 ** 20, 0.8 * 2 ** 20);
    expect(w8.activationBytesPerExample).to.be.greaterThan(100 * 1024);
    expect(w4.weightBytes).to.be.lessThan(w8.weightBytes / 3); // conv weights scale with width squared
    expect(w4.activationBytesPerExample).to.be.lessThan(w8.activationBytesPerExample);
  });

  it("grows with the batch size and the model, and with the teacher", () => {
    const batches = [1, 8, 64, 256, 1024];
    const at = (m: ModelMemory, use: MemoryStage["use"]) =>
      batches.map((b) => estimateMemory(m, stage(b, use), 0).bytes);
    for (const use of ["train", "teacher", "inference"] as const) {
      const small = at(w4, use);
      const large = at(w8, use);
      for (let i = 1; i < batches.length; i++) {
        expect(small[i]).to.be.greaterThan(small[i - 1]!);
        expect(large[i]).to.be.greaterThan(large[i - 1]!);
      }
      for (let i = 0; i < batches.length; i++) expect(large[i]).to.be.greaterThan(small[i]!);
    }
    const one = (use: MemoryStage["use"]) => estimateMemory(w8, stage(64, use), 0).bytes;
    expect(one("teacher")).to.be.greaterThan(one("train"));
    expect(one("train")).to.be.greaterThan(one("inference"));
    // the data term adds as it is; the runtime is always there
    const e = estimateMemory(w8, stage(64), 123);
    expect(e.terms.data).to.equal(123);
    expect(e.bytes).to.equal(e.terms.runtime + e.terms.data + e.terms.model + e.terms.activations);
    expect(e.terms.runtime).to.equal(RUNTIME_BYTES);
  });

  it("refuses an estimate above the budget in one line with its terms and the budget", () => {
    const e = estimateMemory(w8, stage(64), 10 * 2 ** 20);
    expect(() => checkMemoryBudget(e, { bytes: e.bytes, source: "x" })).to.not.throw();
    let err: unknown;
    try {
      checkMemoryBudget(e, { bytes: 100 * 2 ** 20, source: "--memory-budget" });
    } catch (x) {
      err = x;
    }
    expect(err).to.be.instanceOf(UserError);
    const message = (err as Error).message;
    expect(message).to.not.include("\n");
    expect(message).to.match(
      /^estimated peak memory [\d.]+ MiB for train: runtime 256\.0 MiB \+ data 10\.0 MiB \+ model state/,
    );
    expect(message).to.include("activations");
    expect(message).to.include("batch 64");
    expect(message).to.include("above the budget of 100.0 MiB (--memory-budget)");
  });

  describe("sizes (--memory-budget)", () => {
    it("reads binary and decimal units and plain bytes", () => {
      expect(parseMemorySize("8GiB")).to.equal(8 * GiB);
      expect(parseMemorySize("512MiB")).to.equal(512 * 2 ** 20);
      expect(parseMemorySize("1.5 Gi")).to.equal(1.5 * GiB);
      expect(parseMemorySize("16GB")).to.equal(16e9);
      expect(parseMemorySize("64kib")).to.equal(64 * 1024);
      expect(parseMemorySize("2e9")).to.equal(2e9);
      expect(parseMemorySize("1024")).to.equal(1024);
      expect(resolveMemoryBudget("1TiB")).to.deep.equal({ bytes: 2 ** 40, source: "--memory-budget" });
      expect(resolveMemoryBudget(5000)).to.deep.equal({ bytes: 5000, source: "--memory-budget" });
    });

    for (const bad of ["", "abc", "-1GiB", "0", "0.5", "8XB", "8 GiBs", "1e400", "NaN", "Infinity", "GiB", "1,5GiB"]) {
      it(`refuses '${bad}' in one line naming the option`, () => {
        expect(() => parseMemorySize(bad)).to.throw(UserError, /^--memory-budget expects a size such as 8GiB/);
      });
    }

    it("refuses a budget that is not a positive number of bytes", () => {
      for (const bad of [0, -1, NaN, Infinity])
        expect(() => resolveMemoryBudget(bad)).to.throw(UserError, /--memory-budget/);
    });
  });

  describe("default budget", () => {
    let tmp: ReturnType<typeof tempDir>;
    before(() => (tmp = tempDir("memory-budget")));
    after(() => tmp.remove());
    const file = (name: string, text: string) => {
      const p = join(tmp.dir, name);
      writeFileSync(p, text);
      return p;
    };

    it("is the machine's memory without a cgroup limit", () => {
      const machine = { totalBytes: 8 * GiB };
      const expected = { bytes: 8 * GiB, source: "the machine's memory" };
      expect(defaultMemoryBudget({ ...machine, cgroupFiles: [join(tmp.dir, "absent")] })).to.deep.equal(expected);
      expect(defaultMemoryBudget({ ...machine, cgroupFiles: [file("v2-max", "max\n")] })).to.deep.equal(expected);
      // cgroup v1 writes a huge page-rounded number for "no limit"
      expect(defaultMemoryBudget({ ...machine, cgroupFiles: [file("v1", "9223372036854771712\n")] })).to.deep.equal(
        expected,
      );
      expect(defaultMemoryBudget({ ...machine, cgroupFiles: [file("junk", "lots\n")] })).to.deep.equal(expected);
      expect(defaultMemoryBudget({ ...machine, cgroupFiles: [file("larger", `${16 * GiB}\n`)] })).to.deep.equal(
        expected,
      );
    });

    it("is the cgroup's limit when smaller, from the first file that exists", () => {
      const limit = file("limit", `${2 * GiB}\n`);
      expect(defaultMemoryBudget({ totalBytes: 8 * GiB, cgroupFiles: [join(tmp.dir, "absent"), limit] })).to.deep.equal(
        {
          bytes: 2 * GiB,
          source: `the cgroup limit in ${limit}`,
        },
      );
    });

    it("is the real machine's when nothing is given", () => {
      const b = resolveMemoryBudget();
      expect(b.bytes).to.be.greaterThan(0);
      expect(b.source).to.match(/^the machine's memory$|^the cgroup limit in \/sys\/fs\/cgroup\//);
    });
  });
});
