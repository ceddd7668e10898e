/**
 * The package as a user gets it: `npm pack` (the prepare script builds dist/), installed into an empty project,
 * then imported from plain Node ESM and type-checked from TypeScript (moduleResolution nodenext). Skips, saying
 * why, when npm can reach neither the registry nor its cache for the dependencies.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { tempDir } from "../data/make-data.js";

const run = promisify(execFile);
const repo = resolve(".");
const NETWORK = /E(NOTFOUND|AI_AGAIN|CONNREFUSED|CONNRESET|TIMEDOUT|NOTCACHED|NETUNREACH)|network|fetch failed/i;

async function sh(cmd: string, args: string[], cwd: string, timeout = 240000) {
  return run(cmd, args, { cwd, timeout, maxBuffer: 64 << 20, env: { ...process.env, NODE_OPTIONS: "" } });
}

describe("package: npm pack, install, import", function () {
  this.timeout(600000);
  let tmp: ReturnType<typeof tempDir>;
  let project: string;
  let files: string[];

  before(async function () {
    tmp = tempDir("pack");
    const packed = await sh("npm", ["pack", "--json", "--pack-destination", tmp.dir], repo);
    const [info] = JSON.parse(packed.stdout.slice(packed.stdout.search(/^\[/m))) as {
      filename: string;
      files: { path: string }[];
    }[];
    files = info!.files.map((f) => f.path);
    project = join(tmp.dir, "consumer");
    mkdirSync(project);
    await sh("npm", ["init", "-y"], project);
    await sh("npm", ["pkg", "set", "type=module"], project);
    try {
      await sh(
        "npm",
        ["install", join(tmp.dir, info!.filename), "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund"],
        project,
      );
    } catch (e) {
      const text = `${(e as { stderr?: string }).stderr ?? ""}${(e as Error).message}`;
      if (NETWORK.test(text)) {
        console.log(
          `    skipped: npm could not fetch the dependencies (registry and cache unreachable): ${text.match(NETWORK)![0]}`,
        );
        this.skip();
      }
      throw e;
    }
  });
  after(() => tmp?.remove());

  it("ships the built library, the CLI launcher and the docs, not the sources or tests", () => {
    for (const f of [
      "dist/index.js",
      "dist/index.d.ts",
      "dist/cli/main.js",
      "bin/onnx-unlearn.js",
      "README.md",
      "package.json",
      "docs/SCALING.md",
    ])
      expect(files, f).to.include(f);
    expect(files.filter((f) => /^(src|test|scripts)\//.test(f))).to.deep.equal([]);
  });

  it("plain Node ESM imports the API by the package name, and it works", async () => {
    const fixture = join(repo, "test/fixtures/pytorch/resnet18w8_fmnist.ts-preserve.onnx");
    writeFileSync(
      join(project, "check.mjs"),
      `import { train, unlearn, openSource, selectForget, TrainingSession, METHOD_DEFAULTS, resolveUnlearnConfig, parseShard, loadModel, layerInventory } from "onnx-unlearn";
const model = loadModel(${JSON.stringify(fixture)});
console.log(JSON.stringify({
  functions: [train, unlearn, openSource, selectForget, TrainingSession.create].map((f) => typeof f),
  epochs: METHOD_DEFAULTS.stochastic.epochs,
  algo2: resolveUnlearnConfig({ preset: "algo2" }).epochs,
  shard: parseShard("2/4"),
  layers: layerInventory(model).layers.length,
}));
`,
    );
    const { stdout } = await sh(process.execPath, ["check.mjs"], project, 60000);
    expect(JSON.parse(stdout)).to.deep.equal({
      functions: ["function", "function", "function", "function", "function"],
      epochs: [5],
      algo2: [2, 1, 1, 1],
      shard: { index: 1, count: 4 },
      layers: 21,
    });
    // the installed CLI launcher runs too
    const help = await sh(
      process.execPath,
      ["node_modules/onnx-unlearn/bin/onnx-unlearn.js", "unlearn", "--help"],
      project,
      60000,
    );
    expect(help.stdout).to.match(/--forget <spec>/);
  });

  it("TypeScript (nodenext) type-checks against the package's declarations, and catches a wrong type", async () => {
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "nodenext",
          moduleResolution: "nodenext",
          target: "es2022",
          strict: true,
          noEmit: true,
          typeRoots: [join(repo, "node_modules/@types")],
          types: ["node"],
        },
        include: ["*.ts"],
      }),
    );
    writeFileSync(
      join(project, "use.ts"),
      `import { train, unlearn, openSource, selectForget, parseForgetSpec, TrainingSession, METHOD_DEFAULTS } from "onnx-unlearn";
import type { Dataset, RunGroupResult, RunManifest, TrainOptions, UnlearnConfig, UnlearnJobOptions, JobEvent } from "onnx-unlearn";

export async function pipeline(): Promise<RunManifest | undefined> {
  const t: TrainOptions = { model: "zoo:resnet18w8", data: "fashion-mnist", out: "runs/original", epochs: 1 };
  await train(t);
  const events: JobEvent[] = [];
  const o: UnlearnJobOptions = {
    model: "runs/original/model.onnx",
    data: "fashion-mnist",
    forget: "random:0.1",
    config: { preset: "algo2", layers: "3" },
    out: "runs/unlearned",
    runs: 4,
    shard: { index: 0, count: 2 },
    onEvent: (e) => events.push(e),
  };
  const done: RunGroupResult = await unlearn(o);
  const data: Dataset = await openSource("fashion-mnist");
  const forget = selectForget(data, parseForgetSpec("random:0.1"), { seed: 0 });
  const c: UnlearnConfig = METHOD_DEFAULTS.stochastic;
  const n: number = c.layers[0]! + forget.ids.length + done.made;
  void n;
  void TrainingSession.create;
  return undefined;
}
`,
    );
    const tsc = join(repo, "node_modules/typescript/bin/tsc");
    await sh(process.execPath, [tsc, "-p", "tsconfig.json"], project, 120000);

    writeFileSync(
      join(project, "wrong.ts"),
      `import { METHOD_DEFAULTS, type UnlearnJobOptions } from "onnx-unlearn";
export const method: number = METHOD_DEFAULTS.finetune.method;
export const o: UnlearnJobOptions = { model: "m.onnx", data: "fashion-mnist" };
`,
    );
    const failed = await sh(process.execPath, [tsc, "-p", "tsconfig.json"], project, 120000).then(
      () => undefined,
      (e: { stdout: string }) => e.stdout,
    );
    expect(failed).to.match(/wrong\.ts\(2,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/);
    expect(failed).to.match(/wrong\.ts\(3,\d+\): error TS2741: Property 'out' is missing/);
    expect(failed).to.not.match(/use\.ts/);
  });
});
