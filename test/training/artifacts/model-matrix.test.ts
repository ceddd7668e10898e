/**
 * The model matrix over the fixtures of test/fixtures/models (scripts/models/make-matrix.py: torchvision's
 * architectures at narrow widths, exported by PyTorch 1.13 three ways; the full matrix is docs/models.md):
 * inspect roles against the PyTorch module tree, verify-torch against PyTorch's float64 numbers at 1e-4,
 * a few training steps and the exported model in a plain InferenceSession.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { loadModel } from "../../../src/onnx/model-io.js";
import {
  checkGradients,
  checkRoles,
  checkTraining,
  EXPORTS,
  findModels,
  referenceFile,
} from "../../../scripts/models/matrix.js";

const DIR = "test/fixtures/models";
const models = findModels([DIR]);

describe("model matrix over the fixtures (docs/models.md)", function () {
  this.timeout(300_000);

  it("finds the fixture models, each with its three exports", () => {
    expect(models.map((m) => m.name).sort()).to.deep.equal(
      [
        "convnext_tiny_style",
        "mobilenet_v2",
        "mobilenet_v3_small",
        "regnet_y",
        "resnet18",
        "squeezenet1_1",
        "vit",
      ].sort(),
    );
    for (const m of models) expect(Object.keys(m.exports).sort(), m.name).to.deep.equal([...EXPORTS].sort());
  });

  for (const m of models) {
    describe(m.name, () => {
      for (const kind of EXPORTS) {
        it(`${kind}: inspect roles equal the PyTorch module tree's`, () => {
          const r = checkRoles(m.exports[kind]!, m.roles);
          expect(r.problems).to.deep.equal([]);
          expect(r.counts.classifier).to.equal(1);
        });
      }

      const ref = (kind: (typeof EXPORTS)[number]) => referenceFile([DIR], m.name, kind);
      // the gradient checks on one preserve export (both losses), the other opset and the BN-folded export (one each)
      const runs: [(typeof EXPORTS)[number], "mse" | "ce"][] = [
        ["ts-preserve", "mse"],
        ["ts-preserve", "ce"],
        ["ts-preserve-op13", "mse"],
        ["ts-eval", "ce"],
      ];
      for (const [kind, loss] of runs) {
        if (!ref(kind)) continue;
        it(`${kind}: verify-torch ${loss} --sgd within 1e-4 (loss, logits, every gradient, BN statistics, SGD steps)`, async () => {
          const r = await checkGradients(loadModel(m.exports[kind]!), ref(kind)!, loss);
          expect(r.error, r.error).to.equal(undefined);
          expect(r.ok, `worst ${r.worst} at ${r.worstTensor}`).to.equal(true);
          expect(r.tensors).to.be.greaterThan(4);
        });
      }

      it("ts-preserve: two CE steps, the export loads with the same input/output names; two unlearn steps", async () => {
        const r = await checkTraining(loadModel(m.exports["ts-preserve"]!), m.roles);
        expect(r.error).to.equal(undefined);
        expect(r.exportNames).to.deep.equal({ inputs: ["input"], outputs: ["logits"] });
        expect([r.steps, r.unlearnSteps, r.exportOk, r.ok]).to.deep.equal([2, 2, true, true]);
      });
    });
  }

  describe("onnxruntime's own warnings", () => {
    // ORT logs from native code straight to the process's stderr: only a child process shows them
    const verify = (...flags: string[]) =>
      spawnSync(
        process.execPath,
        [
          "--import",
          "tsx",
          "scripts/cli.ts",
          ...flags,
          "verify-torch",
          "--model",
          `${DIR}/vit.ts-preserve.onnx`,
          "--ref",
          `${DIR}/vit.ref.safetensors`,
          "--loss",
          "ce",
        ],
        { encoding: "utf8" },
      );

    it("do not reach the user by default (the ViT export makes ORT warn about Unsqueeze nodes)", () => {
      const r = verify();
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stderr).to.not.match(/onnxruntime|UnsqueezeElimination/);
    });

    it("do with --verbose", () => {
      const r = verify("--verbose");
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stderr).to.match(/UnsqueezeElimination cannot remove node/);
    });
  });
});
