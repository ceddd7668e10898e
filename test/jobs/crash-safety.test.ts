/**
 * Crash safety (issue #12): `train` (one run) and `unlearn` (two runs), checkpointing every step, are killed with
 * SIGKILL at random moments, KILLS times in all (default 50; ONNX_UNLEARN_KILLS sets another count), the delays
 * drawn from a fixed seed. After every kill each run folder is either finished (a valid manifest whose sha256 is
 * model.onnx's, and the model loads in a plain onnxruntime session) or unfinished (no manifest; a model.onnx or a
 * checkpoint in it is whole: a loadable model, a readable state file), and a finished run keeps its bytes while
 * later processes work beside it. A group finished across kills is byte-identical to the one made in one go; then
 * it is removed and made again. At the end one clean run of each command leaves no temporary file, claim or
 * checkpoint anywhere in the tree.
 *
 * The processes run the CLI from one esbuild bundle of scripts/cli.ts (esbuild as tsx ships it): starting from
 * the bundle costs about a third of the CPU time of starting through tsx, and a start is most of what a kill costs.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import seedrandom from "seedrandom";
import { readSafetensors } from "../../src/io/safetensors.js";
import { MANIFEST_FILE, MODEL_FILE, readManifest, sha256File } from "../../src/runs/index.js";
import { tempDir } from "../data/make-data.js";
import { npyData } from "../helpers/tiny-job.js";

const KILLS = Number(process.env.ONNX_UNLEARN_KILLS ?? 50);

/** Bundles scripts/cli.ts into a folder under node_modules (where its packages resolve); returns the file. */
async function bundleCli(): Promise<{ file: string; remove(): void }> {
  const require = createRequire(import.meta.url);
  const esbuild = createRequire(require.resolve("tsx"))("esbuild") as typeof import("esbuild");
  mkdirSync("node_modules/.cache", { recursive: true });
  const dir = mkdtempSync(join("node_modules/.cache", "onnx-unlearn-crash-"));
  const file = join(dir, "cli.mjs");
  await esbuild.build({
    entryPoints: ["scripts/cli.ts"],
    bundle: true,
    platform: "node",
    format: "esm",
    packages: "external",
    outfile: file,
    logLevel: "warning",
  });
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** ms from the first line on stdout to the end. */
  worked: number;
}

/** Runs the bundled CLI; `killAfter` ms after its first line on stdout it is sent SIGKILL. */
function runBundle(cli: string, argv: string[], killAfter?: number): Promise<Ended> {
  const child = spawn(process.execPath, [cli, ...argv], { stdio: ["ignore", "pipe", "pipe"] });
  let first: number | undefined;
  let stderr = "";
  let timer: NodeJS.Timeout | undefined;
  child.stdout.on("data", () => {
    if (first !== undefined) return;
    first = performance.now();
    if (killAfter !== undefined) timer = setTimeout(() => child.kill("SIGKILL"), killAfter);
  });
  child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, worked: performance.now() - (first ?? performance.now()) });
    });
  });
}

/** Every file under `dir`, recursively (relative paths). */
function filesUnder(dir: string, at = ""): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(join(dir, at)).flatMap((e) => {
    const rel = join(at, e);
    return statSync(join(dir, rel)).isDirectory() ? filesUnder(dir, rel) : [rel];
  });
}

describe("jobs: crash safety under SIGKILL at random moments", function () {
  this.timeout(1800000);
  let tmp: ReturnType<typeof tempDir>;
  let cli: Awaited<ReturnType<typeof bundleCli>>;
  let jobs: { name: string; args: (out: string) => string[]; runs: string[]; reference: Map<string, string> }[];
  /** ms a clean run of each job works (first event to exit): the range kill delays are drawn from. */
  const work = new Map<string, number>();

  before(async () => {
    tmp = tempDir("crash");
    cli = await bundleCli();
    const data = npyData(tmp.dir, 48);
    const common = ["--data", data, "--batch", "8", "--max-steps", "2", "--threads", "1", "--checkpoint-every", "1"];
    const original = join(tmp.dir, "original");
    jobs = [
      {
        name: "train",
        args: (out) => [
          "train",
          "--model",
          "zoo:resnet18w8:width=2",
          "--epochs",
          "2",
          "--json-lines",
          ...common,
          "--out",
          out,
        ],
        runs: ["."],
        reference: new Map(),
      },
      {
        // two runs: a finished one beside one being made; the original is a width-2 ResNet-18 trained above
        name: "unlearn",
        args: (out) => [
          "unlearn",
          join(original, MODEL_FILE),
          "--forget",
          "random:8",
          "--epochs",
          "1,1",
          "--layers",
          "2",
          "--runs",
          "2",
          "--json-lines",
          ...common,
          "--out",
          out,
        ],
        runs: ["run-000", "run-001"],
        reference: new Map(),
      },
    ];
    for (const job of jobs) {
      const out = job.name === "train" ? original : join(tmp.dir, "reference", job.name);
      const r = await runBundle(cli.file, job.args(out));
      expect(r.code, r.stderr).to.equal(0);
      work.set(job.name, r.worked);
      for (const run of job.runs) job.reference.set(run, sha256File(join(out, run, MODEL_FILE)));
    }
  });
  after(() => {
    cli?.remove();
    tmp?.remove();
  });

  it(`${KILLS} kills: every run folder unfinished or whole, finished runs untouched and as if made in one go`, async () => {
    const random = seedrandom.alea("crash-safety kills");
    const tree = join(tmp.dir, "tree");
    const loadable = new Set<string>(); // sha256 of models already loaded
    const seen = { kills: 0, processes: 0, checkpoints: 0, unfinishedModels: 0, finishedBeside: 0, groupsDone: 0 };
    /** sha256 of the runs found finished, by folder: they must not change while the group is made. */
    const finished = new Map<string, string>();
    const started = performance.now();

    async function checkFolder(dir: string): Promise<"finished" | "unfinished"> {
      const manifestThere = existsSync(join(dir, MANIFEST_FILE));
      const modelThere = existsSync(join(dir, MODEL_FILE));
      if (existsSync(join(dir, "checkpoint.safetensors"))) {
        seen.checkpoints++;
        const { metadata } = readSafetensors(join(dir, "checkpoint.safetensors"));
        expect(metadata.format, dir).to.equal("onnx-unlearn-state");
      }
      if (modelThere) {
        const sha = sha256File(join(dir, MODEL_FILE));
        if (!loadable.has(sha)) {
          const session = await ort.InferenceSession.create(readFileSync(join(dir, MODEL_FILE)));
          await session.release();
          loadable.add(sha);
        }
      }
      if (!manifestThere) {
        if (modelThere) seen.unfinishedModels++;
        return "unfinished";
      }
      const m = readManifest(dir);
      expect(m, `${dir}: a manifest that is not whole`).to.not.equal(undefined);
      expect(modelThere, dir).to.equal(true);
      expect(sha256File(join(dir, MODEL_FILE)), dir).to.equal(m!.output.sha256);
      return "finished";
    }

    let turn = 0;
    while (seen.kills < KILLS) {
      const job = jobs[turn++ % jobs.length]!;
      const out = join(tree, job.name);
      const delay = random() * work.get(job.name)!;
      const r = await runBundle(cli.file, job.args(out), delay);
      seen.processes++;
      if (r.signal === "SIGKILL") seen.kills++;
      else expect(r.code, r.stderr).to.equal(0);
      const states = new Map<string, string>();
      for (const run of job.runs) {
        const dir = join(out, run);
        if (!existsSync(dir)) continue;
        const state = await checkFolder(dir);
        states.set(run, state);
        if (state === "finished") {
          const sha = sha256File(join(dir, MODEL_FILE));
          expect(finished.get(dir) ?? sha, `${dir} changed after it was finished`).to.equal(sha);
          finished.set(dir, sha);
        }
      }
      if ([...states.values()].includes("finished") && [...states.values()].includes("unfinished"))
        seen.finishedBeside++;
      if (job.runs.every((run) => states.get(run) === "finished")) {
        // made across kills and resumptions: the bytes of the run made in one go
        for (const run of job.runs) {
          expect(sha256File(join(out, run, MODEL_FILE)), `${job.name} ${run}`).to.equal(job.reference.get(run));
          finished.delete(join(out, run));
        }
        if (r.signal === "SIGKILL") {
          // killed between its last manifest and releasing that run's claim: what that leaves is cleared by the
          // next invocation, which skips the finished runs (run-group's clearStaleClaim); leftovers checked after it
          const again = await runBundle(cli.file, job.args(out));
          expect(again.code, again.stderr).to.equal(0);
        }
        expect(filesUnder(out).filter((f) => /(^|\/)\..*\.tmp$|claim$|checkpoint\.safetensors$/.test(f))).to.deep.equal(
          [],
        );
        rmSync(out, { recursive: true, force: true });
        seen.groupsDone++;
      }
    }
    // the next run of each command finishes and leaves nothing of the killed ones behind
    for (const job of jobs) {
      const out = join(tree, job.name);
      const r = await runBundle(cli.file, job.args(out));
      expect(r.code, r.stderr).to.equal(0);
      for (const run of job.runs) {
        expect(await checkFolder(join(out, run))).to.equal("finished");
        expect(sha256File(join(out, run, MODEL_FILE))).to.equal(job.reference.get(run));
      }
    }
    const left = filesUnder(tree).filter((f) => !/(^|\/)(model\.onnx|manifest\.json)$/.test(f));
    expect(left, "files other than models and manifests").to.deep.equal([]);
    // the kills reached the states that matter (each is all but certain in 50 kills at random moments)
    if (KILLS >= 50) {
      expect(seen.checkpoints, JSON.stringify(seen)).to.be.above(0);
      expect(seen.finishedBeside, JSON.stringify(seen)).to.be.above(0);
      expect(seen.groupsDone, JSON.stringify(seen)).to.be.above(0);
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `      ${seen.kills} kills in ${seen.processes} processes, ${seconds.toFixed(0)} s: ${JSON.stringify(seen)}`,
    );
  });
});
