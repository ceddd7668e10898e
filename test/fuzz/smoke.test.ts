/**
 * The fuzz targets of scripts/fuzz, a few hundred inputs each with a fixed seed (the long runs are `npm run fuzz`,
 * docs/RELIABILITY.md): every input parses or ends as a one-line UserError, quickly, with bounded output.
 */
import { expect } from "chai";
import fc from "fast-check";
import { checkInput } from "../../scripts/fuzz/check.js";
import { setup, type Context } from "../../scripts/fuzz/targets.js";

const RUNS: Record<string, number> = { image: 60, "id-list": 100, "run-folder": 150, confs: 150 };

describe("fuzz smoke (npm run fuzz for the long runs)", function () {
  this.timeout(120_000);
  let ctx: Context;
  before(async () => {
    ctx = await setup();
  });
  after(() => ctx.cleanup());

  const names = ["onnx", "safetensors", "torch", "pickle", "zip", "npy", "cifar", "image", "id-list", "cache"];
  for (const name of [...names, "run-folder", "config", "confs"]) {
    it(name, async () => {
      const target = ctx.targets.find((t) => t.name === name)!;
      const findings: string[] = [];
      await fc.assert(
        fc.asyncProperty(target.input, async (bytes) => {
          const o = await checkInput(target, bytes, { msBase: 5000, msPerKiB: 100 });
          if (o.verdict === "finding") findings.push(`${o.why} (input ${Buffer.from(bytes).toString("base64")})`);
          return true;
        }),
        { numRuns: RUNS[name] ?? 250, seed: 20261129 },
      );
      expect(findings.slice(0, 3)).to.deep.equal([]);
    });
  }
});
