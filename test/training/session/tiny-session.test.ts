import { expect } from "chai";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { UserError } from "../../../src/errors.js";
import { normalSampler, seededRandom } from "../../../src/models/init.js";
import { float32, int64 } from "../../../src/onnx/tensor.js";
import { TrainingSession } from "../../../src/training/session/index.js";
import { ortNativeDir } from "../../../src/training/session/options.js";
import { tinyArtifacts, tinyStepJs } from "../../helpers/tiny-train-step.js";

const N = 5;
function batches(seed: number, count: number) {
  const normal = normalSampler(seededRandom(seed));
  return Array.from({ length: count }, () => ({
    x: float32([N, 1, 2, 2], Array.from({ length: N * 4 }, normal)),
    t: float32([N, 3], Array.from({ length: N * 3 }, normal)),
  }));
}

describe("training/session on a hand-built train step", () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), "tiny-session-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("matches the same SGD-momentum steps done in float64 JavaScript", async () => {
    const artifacts = tinyArtifacts(seededRandom(1));
    const js = new Map([...artifacts.initialState].map(([k, t]) => [k, Float64Array.from(t.data as Float32Array)]));
    const session = await TrainingSession.create(artifacts);
    for (const [i, { x, t }] of batches(2, 4).entries()) {
      const { loss } = await session.step(x, t, 0.1);
      const want = tinyStepJs(js, x.data as Float32Array, t.data as Float32Array, N, 0.1);
      // float32 sums of a few terms of size ~1: relative error a few ulp (1e-7), bounded here by 1e-5
      expect(loss, `loss of step ${i + 1}`).to.be.closeTo(want, 1e-5 * Math.abs(want));
    }
    for (const [name, t] of session.getState()) {
      Array.from(t.data as Float32Array).forEach((v, j) =>
        expect(v, `${name}[${j}]`).to.be.closeTo(js.get(name)![j]!, 1e-5),
      );
    }
    expect(session.stepCount).to.equal(4);
    await session.release();
  });

  it("returns the logits when asked, equal to evaluate before the step (no BatchNorm here)", async () => {
    const session = await TrainingSession.create(tinyArtifacts(seededRandom(3)));
    const [{ x, t }] = batches(4, 1);
    const before = await session.evaluate(x!);
    const { logits } = await session.step(x!, t!, 0.1, { logits: true });
    expect(logits!.dims).to.deep.equal([N, 3]);
    expect(Array.from(logits!.data as Float32Array)).to.deep.equal(Array.from(before.data as Float32Array));
    await session.release();
  });

  it("stops on a non-finite loss, names the step and keeps the state", async () => {
    const session = await TrainingSession.create(tinyArtifacts(seededRandom(5)));
    const [a, b] = batches(6, 2);
    await session.step(a!.x, a!.t, 1e30); // parameters blow up to ~1e30
    const kept = session.getState();
    const err = await session.step(b!.x, b!.t, 1e30).catch((e: unknown) => e);
    expect(err)
      .to.be.instanceOf(UserError)
      .with.property("message")
      .match(/the loss is (NaN|Infinity) at step 2; stopped/);
    expect(session.stepCount).to.equal(1);
    for (const [k, t] of session.getState())
      expect(Array.from(t.data as Float32Array)).to.deep.equal(Array.from(kept.get(k)!.data as Float32Array));
    await session.release();
  });

  it("names every problem of a bad batch", async () => {
    const session = await TrainingSession.create(tinyArtifacts(seededRandom(7)));
    const t = float32([N, 3], new Array(N * 3).fill(0));
    const wrong = float32([N, 1, 3, 3], new Array(N * 9).fill(0));
    const err1 = await session.step(wrong, t, 0.1).catch((e: unknown) => e);
    expect(err1)
      .to.be.instanceOf(UserError)
      .with.property("message")
      .match(/step 1: batch \('input'\) has dims \[5,1,3,3\], expected \[N,1,2,2\] \(axis 2\).*axis 3/);
    const err2 = await session
      .step(int64([N, 1, 2, 2], new Array(N * 4).fill(0)), float32([4, 3], new Array(12).fill(0)), 0.1)
      .catch((e: unknown) => e);
    expect(err2)
      .to.be.instanceOf(UserError)
      .with.property("message")
      .match(/batch \('input'\) is int64, expected float32; targets \('targets'\) has N=4 on axis 0 but batch has N=5/);
    const err3 = await session.evaluate(float32([2, 4], new Array(8).fill(0))).catch((e: unknown) => e);
    expect(err3)
      .to.be.instanceOf(UserError)
      .with.property("message")
      .match(/evaluate: batch \('input'\) has dims \[2,4\], expected \[N,1,2,2\]/);
    await session.release();
  });

  it("refuses a state file from another model, listing the mismatches", async () => {
    const session = await TrainingSession.create(tinyArtifacts(seededRandom(8)));
    const other = tinyArtifacts(seededRandom(9));
    other.manifest.state = other.manifest.state.map((s) => (s.name === "b" ? { ...s, name: "bias" } : s));
    other.initialState.set("bias", other.initialState.get("b")!);
    other.initialState.delete("b");
    const otherSession = await TrainingSession.create(other);
    const path = join(dir, "other.safetensors");
    otherSession.saveState(path);
    expect(() => session.loadState(path)).to.throw(
      UserError,
      /other.safetensors: does not match this model \(saved from tiny.onnx\): missing 1 tensor\(s\) of this model: 'b'; 1 tensor\(s\) this model does not have: 'bias'/,
    );
    otherSession.saveParameters(join(dir, "p.safetensors"));
    expect(() => session.loadState(join(dir, "p.safetensors"))).to.throw(
      UserError,
      /not an onnx-unlearn training state file \(it is a parameter file: use loadParameters\)/,
    );
    await session.release();
    await otherSession.release();
  });

  const cudaPresent = existsSync(join(ortNativeDir(), "libonnxruntime_providers_cuda.so"));
  (cudaPresent ? it.skip : it)("names the missing CUDA provider, and falls back only when asked", async () => {
    const err = await TrainingSession.create(tinyArtifacts(seededRandom(10)), { executionProvider: "cuda" }).catch(
      (e: unknown) => e,
    );
    expect(err)
      .to.be.instanceOf(UserError)
      .with.property("message")
      .match(
        /CUDA execution provider failed to load: missing libonnxruntime_providers_shared.so and libonnxruntime_providers_cuda.so in .*onnxruntime-node/,
      );
    const write = process.stderr.write;
    let warned = "";
    process.stderr.write = ((s: string) => ((warned += s), true)) as typeof process.stderr.write;
    try {
      const s = await TrainingSession.create(tinyArtifacts(seededRandom(10)), {
        executionProvider: "cuda",
        fallbackToCpu: true,
      });
      expect(s.executionProvider).to.equal("cpu");
      await s.release();
    } finally {
      process.stderr.write = write;
    }
    expect(warned).to.match(/warning: the CUDA execution provider failed to load.*running on the CPU/);
  });

  it("rejects bad options, listing every problem", async () => {
    const err = await TrainingSession.create(tinyArtifacts(seededRandom(11)), {
      executionProvider: "tpu" as never,
      intraOpThreads: 0,
    }).catch((e: unknown) => e);
    expect(err)
      .to.be.instanceOf(UserError)
      .with.property("message")
      .match(/executionProvider must be "cpu" or "cuda", got "tpu"; intraOpThreads must be a positive integer, got 0/);
  });

  it("exports an inference model that a fresh InferenceSession runs like evaluate", async () => {
    const session = await TrainingSession.create(tinyArtifacts(seededRandom(12)));
    for (const { x, t } of batches(13, 2)) await session.step(x, t, 0.1);
    const path = join(dir, "tiny-export.onnx");
    session.exportInferenceModel(path);
    const fresh = await ort.InferenceSession.create(path);
    expect(fresh.inputNames).to.deep.equal(["input"]);
    const [{ x }] = batches(14, 1);
    const out = await fresh.run({ input: new ort.Tensor("float32", x!.data as Float32Array, x!.dims) });
    expect(Array.from(out.logits!.data as Float32Array)).to.deep.equal(
      Array.from((await session.evaluate(x!)).data as Float32Array),
    );
    await fresh.release();
    await session.release();
  });
});

describe("training/session: K steps per run (ONNX Loop)", () => {
  it("gives the same numbers as K single steps, with a learning rate per step", async () => {
    const single = await TrainingSession.create(tinyArtifacts(seededRandom(20)));
    const multi = await TrainingSession.create(tinyArtifacts(seededRandom(20)));
    const data = batches(21, 3);
    const lrs = [0.1, 0.05, 0.2];
    const want: number[] = [];
    for (const [i, { x, t }] of data.entries()) want.push((await single.step(x, t, lrs[i]!)).loss);
    const stack = (ts: { dims: number[]; data: unknown }[]) =>
      float32(
        [ts.length, ...ts[0]!.dims],
        ts.flatMap((t) => Array.from(t.data as Float32Array)),
      );
    const { losses } = await multi.stepMany(stack(data.map((d) => d.x)), stack(data.map((d) => d.t)), lrs);
    expect(Array.from(losses)).to.deep.equal(want);
    expect(multi.stepCount).to.equal(3);
    for (const [k, t] of single.getState())
      expect(Array.from(multi.getState().get(k)!.data as Float32Array), k).to.deep.equal(
        Array.from(t.data as Float32Array),
      );
    const err = await multi
      .stepMany(stack(data.map((d) => d.x)), stack(data.map((d) => d.t)), [0.1])
      .catch((e: unknown) => e);
    expect(err)
      .to.be.instanceOf(UserError)
      .with.property("message")
      .match(/steps 4..6: expected 3 finite learning rates, got \[0.1\]/);
    await single.release();
    await multi.release();
  });
});

describe("training/session: K steps per run check every step", () => {
  const x = float32([2, 1, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
  const t = float32([2, 3], [0, 1, 0, 1, 0, 0]);
  const stacked = (k: number) => ({
    x: float32([k, 2, 1, 2, 2], Array.from({ length: k }, () => Array.from(x.data as Float32Array)).flat()),
    t: float32([k, 2, 3], Array.from({ length: k }, () => Array.from(t.data as Float32Array)).flat()),
  });

  it("a non-finite loss or update at any step undoes all K steps: named, or with skip reported", async () => {
    const session = await TrainingSession.create(tinyArtifacts(seededRandom(5)));
    const before = session.getState();
    const { x: xs, t: ts } = stacked(3);
    // the last step's learning rate overflows float32 in its update (every loss is finite)
    const r = await session.stepMany(xs, ts, [0.01, 0.01, 3e38], { nonFinite: "skip" });
    // this hand-built step has no in-graph state sum: the state after the K steps is scanned
    expect(r.skipped).to.match(
      /^the update makes '(W|b)(\.momentum)?' -?(Infinity|NaN) \(element \d+ of \d+\) in steps 1..3$/,
    );
    expect(session.stepCount).to.equal(0);
    for (const [k, v] of session.getState()) expect(v.data, k).to.deep.equal(before.get(k)!.data);
    const err = await session.stepMany(xs, ts, [0.01, 0.01, 3e38]).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(UserError);
    expect((err as Error).message).to.match(/in steps 1..3; stopped, the state is as it was before step 1 /);
    await session.release();
  });
});

describe("training/session: input noise inside the train step", () => {
  it("adds N(0, std^2) noise to the batch, fresh at every step", async () => {
    const std = 0.5;
    const session = await TrainingSession.create(tinyArtifacts(seededRandom(30)), { inputNoise: { std, seed: 3 } });
    const n = 2000;
    const normal = normalSampler(seededRandom(31));
    const x = float32([n, 1, 2, 2], Array.from({ length: n * 4 }, normal));
    const t = float32([n, 3], new Array(n * 3).fill(0));
    const W = session.getState().get("W")!.data as Float32Array;
    const clean = (await session.evaluate(x)).data as Float32Array;
    const first = (await session.step(x, t, 0, { logits: true })).logits!.data as Float32Array;
    const second = (await session.step(x, t, 0, { logits: true })).logits!.data as Float32Array;
    expect(Array.from(first)).to.not.deep.equal(Array.from(second));
    for (let k = 0; k < 3; k++) {
      // logits' - logits = W_k . noise ~ N(0, std^2 |W_k|^2); n = 2000 samples: the ratio is 1 +- 3 sqrt(2/n) = 0.095
      let ss = 0;
      for (let i = 0; i < n; i++) ss += (first[i * 3 + k]! - clean[i * 3 + k]!) ** 2;
      const w2 = [0, 1, 2, 3].reduce((a, f) => a + W[k * 4 + f]! ** 2, 0);
      expect(ss / n / (std * std * w2)).to.be.closeTo(1, 0.095);
    }
    await session.release();
  });
});
