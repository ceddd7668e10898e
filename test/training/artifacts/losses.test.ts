import { expect } from "chai";
import seedrandom from "seedrandom";
import { float32, int64 } from "../../../src/onnx/tensor.js";
import { buildArtifacts } from "../../../src/training/artifacts/index.js";
import { maxAbsDiff, StepRunner, tinyModel, values } from "./helpers.js";

const N = 6;
const K = 3;

/** torch.nn.functional.cross_entropy(z, y, weight) in float64 and its gradients for the tiny model. */
function crossEntropy(x: number[], labels: number[], w: number[], b: number[], weight: number[]) {
  let num = 0;
  let den = 0;
  const dz: number[] = [];
  for (let n = 0; n < N; n++) {
    const z = Array.from({ length: K }, (_, k) => x[n * K + k]! * w[k]! + b[k]!);
    const max = Math.max(...z);
    const lse = max + Math.log(z.reduce((s, v) => s + Math.exp(v - max), 0));
    const y = labels[n]!;
    num += weight[y]! * (lse - z[y]!);
    den += weight[y]!;
    for (let k = 0; k < K; k++) dz.push(weight[y]! * (Math.exp(z[k]! - lse) - (k === y ? 1 : 0)));
  }
  const gw = Array.from(
    { length: K },
    (_, k) => Array.from({ length: N }, (_, n) => dz[n * K + k]! * x[n * K + k]!).reduce((s, v) => s + v) / den,
  );
  const gb = Array.from(
    { length: K },
    (_, k) => Array.from({ length: N }, (_, n) => dz[n * K + k]!).reduce((s, v) => s + v) / den,
  );
  return { loss: num / den, gw, gb };
}

describe("artifacts losses against hand computations (tiny model)", () => {
  const r = seedrandom("losses");
  const draw = (n: number, s = 2) => Array.from({ length: n }, () => Math.fround((r() * 2 - 1) * s));
  const [x, w, b] = [draw(N * K), draw(K), draw(K)];
  const labels = [0, 2, 1, 2, 2, 0];
  const classWeights = [0.5, 2, 1.25];

  for (const loss of ["ce", "neg-ce"] as const) {
    for (const weighted of [false, true]) {
      it(`${loss}${weighted ? " with class weights (torch's weighted mean)" : ""}: loss and gradients`, async () => {
        const a = await buildArtifacts(tinyModel(w, b), { loss, classWeights: weighted, gradients: true });
        expect(a.manifest.inputs.targets).to.equal("labels");
        expect(a.manifest.inputs.classWeights).to.equal(weighted ? "class_weights" : null);
        const runner = await StepRunner.create(a);
        const out = await runner.step({
          batch: float32([N, K], x),
          targets: int64([N], labels),
          lr: 0,
          classWeights: weighted ? float32([K], classWeights) : undefined,
        });
        await runner.release();
        const ref = crossEntropy(x, labels, w, b, weighted ? classWeights : [1, 1, 1]);
        const sign = loss === "ce" ? 1 : -1;
        expect(values(out.get(a.manifest.outputs.loss))[0]).to.be.closeTo(sign * ref.loss, 1e-6 * ref.loss);
        const grads = a.manifest.outputs.gradients!;
        // float32 log-softmax and sums of ~N terms of size ~1: errors ~1e-7
        expect(
          maxAbsDiff(
            values(out.get(grads.w)),
            ref.gw.map((g) => sign * g),
          ),
        ).to.be.below(1e-6);
        expect(
          maxAbsDiff(
            values(out.get(grads.b)),
            ref.gb.map((g) => sign * g),
          ),
        ).to.be.below(1e-6);
      });
    }
  }

  it("older opsets (9, 11: ReduceSum axes as attribute; static broadcast paths via the probe's symbolic batch dim)", async () => {
    for (const opset of [9, 11]) {
      const a = await buildArtifacts(tinyModel(w, b, opset), {
        loss: "ce",
        classWeights: true,
        optimizer: "adamw",
        gradients: true,
      });
      const runner = await StepRunner.create(a);
      const out = await runner.step({
        batch: float32([N, K], x),
        targets: int64([N], labels),
        lr: 0,
        classWeights: float32([K], classWeights),
      });
      await runner.release();
      const ref = crossEntropy(x, labels, w, b, classWeights);
      expect(values(out.get(a.manifest.outputs.loss))[0]).to.be.closeTo(ref.loss, 1e-6 * ref.loss);
      expect(maxAbsDiff(values(out.get(a.manifest.outputs.gradients!.w)), ref.gw)).to.be.below(1e-6);
    }
  });

  it("mse is the mean over all N*K elements, as torch's mse_loss", async () => {
    const a = await buildArtifacts(tinyModel(w, b), { loss: "mse" });
    const t = draw(N * K);
    const runner = await StepRunner.create(a);
    const out = await runner.step({ batch: float32([N, K], x), targets: float32([N, K], t), lr: 0 });
    await runner.release();
    const ref = x.reduce((s, xi, i) => s + (xi * w[i % K]! + b[i % K]! - t[i]!) ** 2, 0) / (N * K);
    expect(values(out.get(a.manifest.outputs.loss))[0]).to.be.closeTo(ref, 1e-6 * ref);
  });

  it("refuses class weights with mse and lists every option problem", async () => {
    const err = await buildArtifacts(tinyModel(w, b), {
      loss: "mse",
      classWeights: true,
      optimizer: "adam" as "sgd",
    }).catch((e: Error) => e);
    expect((err as Error).message).to.equal(
      "tiny.onnx: cannot build training artifacts: optimizer 'adam' is not one of sgd, adamw; class weights need loss 'ce' or 'neg-ce'",
    );
  });
});
