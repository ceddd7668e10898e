/**
 * Bad input to train and unlearn: one line naming the thing, exit code 2, and nothing written: no new folder,
 * and a finished run folder or a file in the way left exactly as it was.
 */
import { expect } from "chai";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { unlearn } from "../../src/index.js";
import { tempDir } from "../data/make-data.js";
import { runCli } from "../helpers/run-cli.js";
import { FMNIST_MODEL, npyData, TVSTEM_MODEL } from "../helpers/tiny-job.js";

/** Every file under `dir` with its bytes: what "left exactly as it was" compares. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out[p] = readFileSync(p).toString("base64");
    }
  };
  walk(dir);
  return out;
}

describe("jobs: bad input (train, unlearn)", function () {
  this.timeout(120000);
  let tmp: ReturnType<typeof tempDir>;
  let data: string;
  let finished: string;
  let aFile: string;
  const files: Record<string, string> = {};
  before(async () => {
    tmp = tempDir("bad-input");
    data = npyData(tmp.dir, 64); // train split: 51 examples
    finished = join(tmp.dir, "finished");
    await unlearn({
      model: FMNIST_MODEL,
      data,
      forget: "random:8",
      config: { epochs: "1", layers: 1, batchSize: 8 },
      out: finished,
      maxStepsPerEpoch: 1,
      intraOpThreads: 1,
    });
    aFile = join(tmp.dir, "a-file");
    writeFileSync(aFile, "not a folder");
    const write = (name: string, text: string) => writeFileSync((files[name] = join(tmp.dir, name)), text);
    write("empty.json", "[]");
    write("unknown-key.json", JSON.stringify({ epochs: [1], lr: 0.1 }));
    write("not-json.json", "epochs: 1\nlayers: 2\n");
    write("array.json", "[1, 2]");
  });
  after(() => tmp.remove());

  const out = () => join(tmp.dir, "new-out");
  const unlearnArgs = (...more: string[]) => [
    "unlearn",
    FMNIST_MODEL,
    "--data",
    data,
    "--threads",
    "1",
    "--max-steps",
    "1",
    "--json-lines",
    ...more,
  ];
  const trainArgs = (...more: string[]) => [
    "train",
    "--data",
    data,
    "--epochs",
    "1",
    "--threads",
    "1",
    "--max-steps",
    "1",
    "--json-lines",
    ...more,
  ];

  async function expectRefused(argv: string[], message: RegExp): Promise<void> {
    const before = snapshot(tmp.dir);
    const r = await runCli(argv);
    const what = `${argv.join(" ")}\n${r.stderr}`;
    expect(r.code, what).to.equal(2);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines, what).to.have.length(1);
    expect(lines[0], what).to.match(/^onnx-unlearn: /);
    expect(lines[0], what).to.match(message);
    expect(existsSync(out()), `${what}: --out was created`).to.equal(false);
    expect(snapshot(tmp.dir), `${what}: files changed`).to.deep.equal(before);
  }

  it("a forget spec that selects nothing or everything", async () => {
    await expectRefused(
      unlearnArgs("--forget", `ids:${files["empty.json"]}`, "--out", out()),
      /forget set ids:.*empty\.json is empty/,
    );
    await expectRefused(
      unlearnArgs("--forget", "random:51", "--out", out()),
      /forget set random:51 \(seed 0\) takes every training example: the retain set would be empty/,
    );
    await expectRefused(
      unlearnArgs("--forget", "classes:0,1,2,3,4,5,6,7,8,9", "--out", out()),
      /takes every training example/,
    );
    await expectRefused(
      trainArgs("--model", "zoo:resnet18w8:width=2", "--exclude-forget", "random:51", "--batch", "8", "--out", out()),
      /takes every training example/,
    );
  });

  it("a retain (or train) set smaller than a batch", async () => {
    await expectRefused(
      unlearnArgs("--forget", "random:8", "--out", out()),
      /the retain set has 43 examples, fewer than one batch of 64/,
    );
    await expectRefused(
      unlearnArgs("--forget", "random:8", "--batch", "44", "--runs", "2", "--out", out()),
      /the retain set has 43 examples, fewer than one batch of 44/,
    );
    await expectRefused(
      unlearnArgs("--forget", "random:40", "--method", "neggrad", "--out", out()),
      /the forget set has 40 examples, fewer than one batch of 64/,
    );
    await expectRefused(
      trainArgs("--model", "zoo:resnet18w8:width=2", "--out", out()),
      /the train split has 51 examples, fewer than one batch of 64/,
    );
    await expectRefused(
      trainArgs("--model", "zoo:resnet18w8:width=2", "--exclude-forget", "random:8", "--batch", "48", "--out", out()),
      /the retain set has 43 examples, fewer than one batch of 48/,
    );
  });

  it("a model whose input does not fit the data", async () => {
    await expectRefused(
      ["unlearn", TVSTEM_MODEL, "--data", data, "--forget", "random:8", "--batch", "8", "--out", out()],
      /retain set: does not fit model resnet18w8_tvstem\.ts-preserve\.onnx \(input 'input'\): images have 1 channels, the model expects 3/,
    );
    await expectRefused(
      trainArgs("--model", TVSTEM_MODEL, "--batch", "8", "--out", out()),
      /train split: does not fit model resnet18w8_tvstem.*images have 1 channels, the model expects 3/,
    );
    await expectRefused(
      trainArgs("--model", "zoo:resnet18w8:width=2,imageSize=32", "--batch", "8", "--runs", "2", "--out", out()),
      /does not fit model zoo:resnet18w8:.*imageSize=32.*images are 28x28 \(1x28x28\), the model expects 32x32/,
    );
    await expectRefused(
      trainArgs("--model", "zoo:resnet18w8:width=2,classes=5", "--batch", "8", "--out", out()),
      /labels out of range for a model with 5 classes/,
    );
  });

  it("an unknown preset, config key or method, and a config file that is not a JSON object", async () => {
    const base = ["--forget", "random:8", "--batch", "8", "--out", out()];
    await expectRefused(unlearnArgs(...base, "--preset", "algo3"), /unknown preset 'algo3'; presets: algo1, algo2/);
    await expectRefused(
      unlearnArgs(...base, "--config", files["unknown-key.json"]!),
      /unknown-key\.json: unknown option 'lr'; known: preset, method, epochs/,
    );
    await expectRefused(
      unlearnArgs(...base, "--config", files["not-json.json"]!),
      /not-json\.json: cannot read a JSON config \(Unexpected token/,
    );
    await expectRefused(
      unlearnArgs(...base, "--config", files["array.json"]!),
      /array\.json: expected a JSON object of options/,
    );
    await expectRefused(
      unlearnArgs(...base, "--config", join(tmp.dir, "missing.json")),
      /missing\.json: cannot read a JSON config \(ENOENT/,
    );
    await expectRefused(
      unlearnArgs(...base, "--method", "retrain"),
      /method: expected one of stochastic, finetune, neggrad/,
    );
  });

  it("more draws per cycle than the re-initialisation pool holds (17 body layers here)", async () => {
    const base = ["--forget", "random:8", "--batch", "8", "--epochs", "1", "--out", out()];
    await expectRefused(
      unlearnArgs(...base, "--layers", "18"),
      /layers: 18 draws in a cycle, more than the 17 layers of .*'s re-initialisation pool \(after excluding classifier, shortcuts\); give at most 17, or --reinit all-body/,
    );
    await expectRefused(unlearnArgs(...base, "--layers", "1e15"), /layers: 1000000000000000 draws in a cycle/);
  });

  it("--shard or --runs out of range", async () => {
    const base = ["--forget", "random:8", "--batch", "8", "--runs", "2", "--out", out()];
    await expectRefused(unlearnArgs(...base, "--shard", "3/2"), /--shard 3\/2 is out of range: expected 1 <= i <= n/);
    await expectRefused(unlearnArgs(...base, "--shard", "0/2"), /--shard 0\/2 is out of range/);
    await expectRefused(unlearnArgs(...base, "--shard", "3/4"), /--shard 3\/4: only 2 runs to share/);
    await expectRefused(unlearnArgs(...base, "--shard", "half"), /--shard expects <i>\/<n>/);
    await expectRefused(
      trainArgs("--model", "zoo:resnet18w8:width=2", "--batch", "8", "--runs", "2", "--shard", "3/2", "--out", out()),
      /--shard 3\/2 is out of range/,
    );
    await expectRefused(
      unlearnArgs("--forget", "random:8", "--batch", "8", "--runs", "0", "--out", out()),
      /--runs expects an integer >= 1, got '0'/,
    );
  });

  it("a finished run folder of another model, forget set, data or seed", async () => {
    const base = ["--epochs", "1", "--layers", "1", "--batch", "8", "--out", finished];
    const other = /finished: is a finished run of another request: it was made with another /;
    await expectRefused(
      unlearnArgs("--forget", "random:9", ...base),
      new RegExp(other.source + "retain; use another --out or remove it"),
    );
    await expectRefused(unlearnArgs("--forget", "random:8", "--forget-seed", "1", ...base), new RegExp(other.source));
    await expectRefused(
      ["unlearn", TVSTEM_MODEL, "--data", data, "--forget", "random:8", ...base],
      new RegExp(other.source + "input model"),
    );
    await expectRefused(unlearnArgs("--forget", "random:8", "--seed", "1", ...base), new RegExp(other.source + "seed"));
    await expectRefused(
      unlearnArgs("--forget", "random:8", "--sigma", "0", ...base),
      new RegExp(other.source + "config"),
    );
    await expectRefused(
      unlearnArgs("--forget", "random:8", "--method", "finetune", ...base),
      new RegExp(other.source + "method"),
    );
    const moreData = npyData(tmp.dir, 70, "more");
    await expectRefused(
      ["unlearn", FMNIST_MODEL, "--data", moreData, "--forget", "random:8", ...base],
      new RegExp(other.source),
    );
    await expectRefused(
      trainArgs("--model", "zoo:resnet18w8:width=2", "--batch", "8", "--out", finished),
      new RegExp(other.source + "kind"),
    );
  });

  it("the same request again is a skip, not an error", async () => {
    const before = snapshot(finished);
    const r = await runCli(
      unlearnArgs("--forget", "random:8", "--epochs", "1", "--layers", "1", "--batch", "8", "--out", finished),
    );
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/"event":"skip","run":0,.*"reason":"finished before \(same request\)"/);
    expect(snapshot(finished)).to.deep.equal(before);
  });

  it("--out that is a file, or a folder that is not a run folder", async () => {
    await expectRefused(
      unlearnArgs("--forget", "random:8", "--batch", "8", "--out", aFile),
      /a-file: is a file; --out expects a folder/,
    );
    await expectRefused(
      trainArgs("--model", "zoo:resnet18w8:width=2", "--batch", "8", "--out", aFile),
      /a-file: is a file; --out expects a folder/,
    );
    await expectRefused(
      unlearnArgs("--forget", "random:8", "--batch", "8", "--out", join(tmp.dir, "data")),
      /data: is not a run folder \(holds x\.npy, y\.npy\); choose an empty or new folder/,
    );
  });

  it("no forget set, or one given twice", async () => {
    await expectRefused(
      unlearnArgs("--batch", "8", "--out", out()),
      /no forget set: give --forget <spec>, or --retain-only/,
    );
    await expectRefused(
      unlearnArgs("--forget", "random:8", "--retain-only", "--out", out()),
      /--retain-only and --forget exclude each other/,
    );
    await expectRefused(
      unlearnArgs("--retain-only", "--method", "neggrad", "--out", out()),
      /neggrad ascends the loss on the forget set, which a --retain-only source does not have/,
    );
  });
});
