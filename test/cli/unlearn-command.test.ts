import { expect } from "chai";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rngFor } from "../../src/data/random.js";
import { writeNpy } from "../../src/io/npy.js";
import { runCli } from "../helpers/run-cli.js";

const FMNIST = "test/fixtures/pytorch/resnet18w8_fmnist.ts-preserve.onnx";
const TVSTEM = "test/fixtures/pytorch/resnet18w8_tvstem.ts-preserve.onnx";

describe("cli/unlearn", function () {
  this.timeout(240000);
  let dir: string;
  let data: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "unlearn-cli-"));
    const n = 80;
    const rng = rngFor("cli-data");
    writeNpy(join(dir, "x.npy"), {
      dtype: "uint8",
      shape: [n, 1, 28, 28],
      data: Uint8Array.from({ length: n * 784 }, () => Math.floor(rng() * 256)),
    });
    writeNpy(join(dir, "y.npy"), {
      dtype: "int64",
      shape: [n],
      data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 10)),
    });
    data = `npy:${join(dir, "x.npy")},${join(dir, "y.npy")}`;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("unlearns, writes the model and the report, and prints accuracies", async () => {
    const out = join(dir, "u.onnx");
    const report = join(dir, "report.json");
    const r = await runCli([
      "unlearn",
      FMNIST,
      "--data",
      data,
      "--forget",
      "random:0.1",
      "--out",
      out,
      "--epochs",
      "1,1",
      "--batch",
      "16",
      "--max-steps",
      "2",
      "--threads",
      "1",
      "--report",
      report,
      "--write-forget",
      join(dir, "forget.json"),
    ]);
    expect(r.stderr).to.match(/cycle 2: re-initialised/);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^split\s+examples\s+original\s+unlearned/);
    expect(r.stdout).to.match(/forget\s+6\s/);
    expect(existsSync(out) && existsSync(report) && existsSync(join(dir, "forget.json"))).to.equal(true);
  });

  it("bad input: one line naming the problem, exit 2, no output file", async () => {
    const out = join(dir, "bad.onnx");
    const cases: [string[], RegExp][] = [
      [["unlearn", FMNIST, "--data", data, "--out", out], /--forget is required/],
      [
        ["unlearn", TVSTEM, "--data", data, "--forget", "random:0.1", "--out", out, "--max-steps", "1"],
        /input|dims|channels/,
      ],
      [
        ["unlearn", FMNIST, "--data", data, "--forget", "random:0.1", "--out", out, "--schedule", "warp:1"],
        /--schedule warp:1/,
      ],
      [
        ["unlearn", FMNIST, "--data", data, "--forget", "random:0.1", "--out", out, "--init", "xavier"],
        /--init expects one of torchvision, pytorch-default/,
      ],
      [
        ["unlearn", join(dir, "x.npy"), "--data", data, "--forget", "random:0.1", "--out", out],
        /x\.npy.*not a valid ONNX model/,
      ],
    ];
    for (const [argv, message] of cases) {
      const r = await runCli(argv);
      expect(r.code, `${argv.join(" ")}\n${r.stderr}`).to.equal(2);
      expect(r.stderr.trim().split("\n"), r.stderr).to.have.length(1);
      expect(r.stderr).to.match(message);
    }
    expect(readdirSync(dir).filter((f) => f.startsWith("bad") || f.includes(".tmp"))).to.deep.equal([]);
  });
});
