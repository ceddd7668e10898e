import { expect } from "chai";
import { summarize } from "../../../src/training/artifacts/verify-torch.js";
import { runCli } from "../../helpers/run-cli.js";

const FIX = "test/fixtures/pytorch";

describe("verify-torch: generated train steps against PyTorch (ts-preserve fixtures)", () => {
  for (const model of ["resnet18w8_fmnist", "resnet18w8_tvstem"]) {
    for (const loss of ["mse", "ce"]) {
      it(`${model} ${loss} --sgd: loss, logits, gradients, BN running stats and SGD steps within 1e-4`, async () => {
        const r = await runCli([
          "verify-torch",
          "--model",
          `${FIX}/${model}.ts-preserve.onnx`,
          "--ref",
          `${FIX}/${model}.ref.safetensors`,
          "--loss",
          loss,
          "--sgd",
          "--tol",
          "1e-4",
          "--json",
        ]);
        expect(r.stderr).to.equal("");
        expect(r.code).to.equal(0);
        const report = JSON.parse(r.stdout) as {
          ok: boolean;
          tensors: { kind: string }[];
          kinds: { kind: string; count: number }[];
        };
        expect(report.ok).to.equal(true);
        const counts = Object.fromEntries(report.kinds.map((k) => [k.kind, k.count]));
        // 62 parameters (20 convs, 20 BNs x 2, fc x 2), 40 BN buffers
        expect(counts).to.deep.equal(
          loss === "mse"
            ? {
                loss_mse: 1,
                train_logits: 1,
                grad_mse: 62,
                buffer_after: 40,
                sgd_after: 62,
                loss_mse_step2: 1,
                sgd_after2: 62,
              }
            : { loss_ce: 1, train_logits: 1, grad_ce: 62, buffer_after: 40, sgd_after_ce: 62 },
        );
      });
    }
  }

  it("resnet18w8_tvstem mse --sgd --bn decomposed (the form every execution provider runs): within 1e-4", async () => {
    const r = await runCli([
      "verify-torch",
      "--model",
      `${FIX}/resnet18w8_tvstem.ts-preserve.onnx`,
      "--ref",
      `${FIX}/resnet18w8_tvstem.ref.safetensors`,
      "--loss",
      "mse",
      "--sgd",
      "--tol",
      "1e-4",
      "--bn",
      "decomposed",
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/^all 229 tensors within 0\.0001$/m);
  });

  it("prints a per-kind summary and exits 1 when a tensor is outside --tol", async () => {
    const r = await runCli([
      "verify-torch",
      "--model",
      `${FIX}/resnet18w8_fmnist.ts-preserve.onnx`,
      "--ref",
      `${FIX}/resnet18w8_fmnist.ref.safetensors`,
      "--loss",
      "ce",
      "--tol",
      "1e-12",
    ]);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.match(
      /^grad_ce\s+62 tensors\s+worst \d\.\d\de-\d+\s+\S+\s+relative \d\.\d\de-\d+ \S+\s+FAIL$/m,
    );
    expect(r.stderr).to.match(/tensors differ from PyTorch by more than 1e-12/);
  });

  it("refuses a reference whose shapes do not fit the model, listing the problems (exit 2)", async () => {
    const r = await runCli([
      "verify-torch",
      "--model",
      `${FIX}/resnet18w8_fmnist.ts-preserve.onnx`,
      "--ref",
      `${FIX}/resnet18w8_tvstem.ref.safetensors`,
      "--loss",
      "mse",
    ]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain("'grad_mse/conv1.weight' has shape [8,3,7,7], the model's is [8,1,3,3]");
    expect(r.stderr).to.contain("input_noisy has shape [8,3,32,32], the model's input 'input' is [N,1,28,28]");
    expect(r.stderr.trim().split("\n")).to.have.length(1);
  });

  it("refuses a BN-folded export: the reference's gradients name tensors it does not have (exit 2)", async () => {
    const r = await runCli([
      "verify-torch",
      "--model",
      `${FIX}/resnet18w8_fmnist.ts-eval.onnx`,
      "--ref",
      `${FIX}/resnet18w8_fmnist.ref.safetensors`,
      "--loss",
      "ce",
    ]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/'grad_ce\/onnx::Conv_192' is missing/);
    expect(r.stderr).to.match(/the reference has gradients for tensors the model does not train: .*bn1\.weight/);
  });

  it("rejects bad options (exit 2)", async () => {
    const r = await runCli(["verify-torch", "--model", "x.onnx", "--ref", "y", "--loss", "l1", "--tol", "-1"]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain("--loss expects mse or ce, got 'l1'; --tol expects a positive number, got '-1'");
  });
});

describe("verify-torch: the error measure", () => {
  // one kind, three gradients: a large one, a mathematically zero one (float noise in both autograds) and a
  // small one that is wrong by 10%
  const grads = [
    { kind: "grad_mse", name: "conv.weight", maxDiff: 2e-5, maxTorch: 25 },
    { kind: "grad_mse", name: "bn.bias", maxDiff: 3e-8, maxTorch: 1e-9 },
    { kind: "grad_mse", name: "fc.bias", maxDiff: 0.01, maxTorch: 0.1 },
    { kind: "loss_mse", name: "loss_mse", maxDiff: 1e-7, maxTorch: 2 },
  ];

  it("by default measures each tensor on its kind's scale (the floor is the kind's largest |torch|)", () => {
    const r = summarize(grads, 1e-4);
    const byName = Object.fromEntries(r.tensors.map((t) => [t.name, t]));
    expect(byName["conv.weight"]!.error).to.be.closeTo(8e-7, 1e-12);
    expect(byName["bn.bias"]!.error).to.be.closeTo(3e-8 / 25, 1e-15);
    expect(byName["fc.bias"]!.error).to.be.closeTo(0.01 / 25, 1e-12);
    expect(byName["fc.bias"]!.relative).to.be.closeTo(0.1, 1e-12);
    expect(r.failed.map((t) => t.name)).to.deep.equal(["fc.bias"]);
    expect(r.kinds.find((k) => k.kind === "grad_mse")!.floor).to.equal(25);
  });

  it("floor 1e-3: float noise on a zero gradient passes, a wrong small one fails", () => {
    const r = summarize(grads, 1e-4, 1e-3);
    const byName = Object.fromEntries(r.tensors.map((t) => [t.name, t]));
    expect(byName["conv.weight"]!.error).to.be.closeTo(8e-7, 1e-12);
    expect(byName["bn.bias"]!.error).to.be.closeTo(3e-8 / 0.025, 1e-12);
    expect(byName["bn.bias"]!.relative).to.be.closeTo(30, 1e-9);
    expect(byName["fc.bias"]!.error).to.be.closeTo(0.1, 1e-12);
    expect(byName["loss_mse"]!.error).to.be.closeTo(5e-8, 1e-15);
    expect(r.failed.map((t) => t.name)).to.deep.equal(["fc.bias"]);
    const kind = r.kinds.find((k) => k.kind === "grad_mse")!;
    expect([kind.floor, kind.worst.name, kind.worstRelative.name]).to.deep.equal([0.025, "fc.bias", "bn.bias"]);
  });

  it("floor 0 is the plain relative error", () => {
    const r = summarize(grads, 1e-4, 0);
    expect(r.failed.map((t) => t.name)).to.deep.equal(["bn.bias", "fc.bias"]);
    expect(r.tensors.every((t) => t.error === t.relative)).to.equal(true);
  });
});
