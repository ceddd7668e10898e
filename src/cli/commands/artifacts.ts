import type { Command } from "commander";
import { UserError } from "../../errors.js";
import { loadModel } from "../../onnx/model-io.js";
import {
  buildArtifacts,
  checkWeightedLayers,
  LOSS_KINDS,
  OPTIMIZER_KINDS,
  writeArtifacts,
  type BatchNormForm,
  type LossKind,
  type OptimizerKind,
} from "../../training/artifacts/index.js";

interface ArtifactsCliOptions {
  out: string;
  loss: string;
  optimizer: string;
  teacher?: boolean;
  classWeights?: boolean;
  momentum?: string;
  weightDecay?: string;
  nesterov?: boolean;
  bn: string;
  dropoutSeed: string;
  denseConvs: boolean;
  input?: string;
  output?: string;
}

function num(flag: string, v: string | undefined, problems: string[]): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) problems.push(`${flag} expects a number >= 0, got '${v}'`);
  return n;
}

function oneOf<T extends string>(flag: string, v: string, allowed: readonly T[], problems: string[]): T {
  if (!allowed.includes(v as T)) problems.push(`${flag} expects one of ${allowed.join(", ")}, got '${v}'`);
  return v as T;
}

export function register(program: Command): void {
  program
    .command("artifacts")
    .description(
      "generate the training artifacts of an ONNX classifier: train_step.onnx (forward in training mode, loss, backward, optimizer), eval.onnx, state.safetensors, manifest.json",
    )
    .argument("<model>", "inference ONNX model (input: a float32 NCHW batch, output: logits [N,K])")
    .requiredOption("--out <dir>", "output folder (created if missing)")
    .option(
      "--loss <kind>",
      `loss: ${LOSS_KINDS.join(", ")} (mse against teacher logits; ce with int64 labels; neg-ce for NegGrad)`,
      "mse",
    )
    .option("--optimizer <kind>", `optimizer: ${OPTIMIZER_KINDS.join(", ")}`, "sgd")
    .option("--teacher", "embed the frozen original model: the MSE targets are its logits on the same batch (mse only)")
    .option("--class-weights", "add a class-weights input [K] to the cross-entropy (ce, neg-ce)")
    .option("--momentum <m>", "SGD momentum (default 0.9)")
    .option("--weight-decay <wd>", "weight decay (default SGD 5e-4, AdamW 0.01)")
    .option("--nesterov", "SGD with Nesterov momentum")
    .option(
      "--bn <form>",
      "training-mode BatchNormalization: node (ORT CPU) or decomposed (any execution provider, e.g. CUDA)",
      "node",
    )
    .option(
      "--no-dense-convs",
      "keep the student's convs on 1x1/2x2 maps as Conv (default: dense Gemms, faster on the CPU; docs/artifacts.md)",
    )
    .option("--dropout-seed <n>", "base seed of training-mode Dropout", "0")
    .option("--input <name>", "the batch input (default: the model's only non-initializer input)")
    .option("--output <name>", "the logits output (default: the model's first output)")
    .action(async (modelPath: string, o: ArtifactsCliOptions) => {
      const problems: string[] = [];
      const loss = oneOf<LossKind>("--loss", o.loss, LOSS_KINDS, problems);
      const optimizer = oneOf<OptimizerKind>("--optimizer", o.optimizer, OPTIMIZER_KINDS, problems);
      const batchNorm = oneOf<BatchNormForm>("--bn", o.bn, ["node", "decomposed"], problems);
      const momentum = num("--momentum", o.momentum, problems);
      const weightDecay = num("--weight-decay", o.weightDecay, problems);
      const dropoutSeed = num("--dropout-seed", o.dropoutSeed, problems)!;
      if (optimizer === "adamw" && (momentum !== undefined || o.nesterov))
        problems.push("--momentum and --nesterov are SGD options");
      if (problems.length) throw new UserError(problems.join("; "));
      const hyper = Object.fromEntries(
        Object.entries({ momentum, weightDecay, nesterov: o.nesterov }).filter(([, v]) => v !== undefined),
      );
      const model = loadModel(modelPath);
      checkWeightedLayers(model);
      const a = await buildArtifacts(model, {
        loss,
        optimizer,
        hyper,
        teacher: !!o.teacher,
        classWeights: !!o.classWeights,
        batchNorm,
        dropoutSeed,
        input: o.input,
        output: o.output,
        denseConvs: o.denseConvs,
      });
      writeArtifacts(o.out, a);
      const m = a.manifest;
      const count = (role: string) => m.state.filter((s) => s.role === role).length;
      const params = m.state
        .filter((s) => s.role === "param")
        .reduce((n, s) => n + s.dims.reduce((x, d) => x * d, 1), 0);
      process.stdout.write(
        `${o.out}: ${m.loss} loss, ${m.optimizer}${m.teacher ? ", teacher inside" : ""}; ${count("param")} parameter tensors (${params} values), ` +
          `${count("bn_running_mean")} BatchNorm layers, ${m.state.length} state tensors; nodes: source ${m.nodes.source}, ` +
          `train step ${m.nodes.trainStep}, eval ${m.nodes.eval}; ${m.denseConvs?.length ?? 0} convs as dense Gemms\n`,
      );
    });
}
