import type { Command } from "commander";
import { UserError } from "../../errors.js";
import { readSafetensors } from "../../io/safetensors.js";
import { loadModel } from "../../onnx/model-io.js";
import { verifyTorch, type VerifyReport } from "../../training/artifacts/verify-torch.js";
import { CheckFailed } from "../check-failed.js";

interface VerifyCliOptions {
  model: string;
  ref: string;
  loss: string;
  sgd?: boolean;
  tol: string;
  floor: string;
  json?: boolean;
  bn: string;
}

export function register(program: Command): void {
  program
    .command("verify-torch")
    .description(
      "check the generated train step against PyTorch's numbers on a reference batch (loss, gradients, BN running stats, SGD steps); exit 0 only if every tensor is within --tol",
    )
    .requiredOption(
      "--model <file>",
      "the ONNX export of the reference model (PyTorch's parameter names, BN kept: the ts-preserve export)",
    )
    .requiredOption(
      "--ref <file>",
      "the reference safetensors (input_noisy, teacher_logits, labels, loss_*, grad_*/, buffer_after/, sgd_after*/)",
    )
    .requiredOption("--loss <kind>", "mse or ce")
    .option("--sgd", "also compare the parameters after SGD steps (lr 0.05, momentum 0.9, weight decay 5e-4)")
    .option(
      "--tol <x>",
      "largest allowed error per tensor: max|ours - torch| / max(max|torch|, floor), floor = --floor times the largest |torch| of the tensor's kind",
      "1e-3",
    )
    .option(
      "--floor <x>",
      "the scale floor, as a fraction of the kind's largest |torch| (1: the kind's scale; 0: plain relative error)",
      "1",
    )
    .option("--bn <form>", "training-mode BatchNormalization form: node or decomposed", "node")
    .option("--json", "print the full report (every tensor) as JSON")
    .action(async (o: VerifyCliOptions) => {
      const problems: string[] = [];
      if (o.loss !== "mse" && o.loss !== "ce") problems.push(`--loss expects mse or ce, got '${o.loss}'`);
      const tol = Number(o.tol);
      if (!(tol > 0)) problems.push(`--tol expects a positive number, got '${o.tol}'`);
      const floor = Number(o.floor);
      if (!(floor >= 0 && floor <= 1)) problems.push(`--floor expects a number in [0, 1], got '${o.floor}'`);
      if (o.bn !== "node" && o.bn !== "decomposed") problems.push(`--bn expects node or decomposed, got '${o.bn}'`);
      if (problems.length) throw new UserError(problems.join("; "));
      const model = loadModel(o.model);
      const ref = readSafetensors(o.ref).tensors;
      const report = await verifyTorch({
        model,
        ref,
        refFile: o.ref,
        loss: o.loss as "mse" | "ce",
        sgd: !!o.sgd,
        tol,
        floor,
        batchNorm: o.bn as "node",
      });
      process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
      if (!report.ok)
        throw new CheckFailed(
          `${report.failed.length} of ${report.tensors.length} tensors differ from PyTorch by more than ${tol}`,
        );
    });
}

/** Per kind: the worst error (the criterion, floored scale) and the worst plain relative error. */
export function formatReport(r: VerifyReport): string {
  const width = Math.max(...r.kinds.map((k) => k.kind.length));
  const nameWidth = Math.max(...r.kinds.map((k) => k.worst.name.length));
  const lines = r.kinds.map(
    (k) =>
      `${k.kind.padEnd(width)}  ${String(k.count).padStart(3)} tensor${k.count === 1 ? " " : "s"}  worst ${k.worst.error.toExponential(2)}  ${k.worst.name.padEnd(nameWidth)}  relative ${k.worstRelative.relative.toExponential(2)} ${k.worstRelative.name}${k.worst.error > r.tol ? "  FAIL" : ""}`,
  );
  lines.push(`error = max|ours - torch| / max(max|torch|, ${r.floor} x the kind's largest |torch|)`);
  lines.push(
    r.ok
      ? `all ${r.tensors.length} tensors within ${r.tol}`
      : `${r.failed.length} tensors above ${r.tol}: ${r.failed.map((t) => `${t.kind}/${t.name}`).join(", ")}`,
  );
  return `${lines.join("\n")}\n`;
}
