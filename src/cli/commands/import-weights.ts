import type { Command } from "commander";
import { importWeights, list, type ImportReport } from "../../interop/state-dict.js";
import { readWeightsFile } from "../../interop/weights-file.js";
import { UserError } from "../../errors.js";
import { checkNotAnInput, checkOutputPath } from "../../io/paths.js";
import { externalDataFiles } from "../../onnx/external-data.js";
import { loadModel, saveModel } from "../../onnx/model-io.js";

interface ImportCliOptions {
  out: string;
  strict?: boolean;
  key?: string;
}

export function register(program: Command): void {
  program
    .command("import-weights")
    .description(
      "set the model's initializers by name from safetensors or a torch.save file (state_dict or checkpoint)",
    )
    .argument("<model>", "ONNX model file")
    .argument("<weights>", ".safetensors, or .pth/.pt written by torch.save (zip or legacy format)")
    .requiredOption(
      "--out <file>",
      "output ONNX file (may be the model itself: it is replaced once the new one is whole)",
    )
    .option("--strict", "fail on missing or unexpected keys too (size mismatches always fail)")
    .option("--key <entry>", "checkpoint dict entry holding the state_dict, e.g. model_state_dict")
    .action((modelPath: string, weightsPath: string, o: ImportCliOptions) => {
      checkOutputPath(o.out, "--out");
      const model = loadModel(modelPath);
      // The model itself may be replaced (atomically, after everything is read); its side files and the weights not.
      checkNotAnInput(o.out, [
        { path: weightsPath, what: "the weights file" },
        ...externalDataFiles(model).map((path) => ({ path, what: "an external-data file of the model" })),
      ]);
      const weights = readWeightsFile(weightsPath, { key: o.key });
      const report = importWeights(model, weights.tensors, { strict: o.strict, source: weightsPath });
      if (report.loaded.length === 0) {
        throw new UserError(
          `no tensor matches an initializer of ${modelPath} by name (weights: ${list([...weights.tensors.keys()], 5) || "none"}; model: ${list(
            model.proto.graph!.initializer.map((t) => t.name),
            5,
          )}); nothing written`,
          weightsPath,
        );
      }
      saveModel(model, o.out);
      process.stdout.write(formatReport(report, weights.nonTensors, o.out));
    });
}

function formatReport(r: ImportReport, nonTensors: string[], out: string): string {
  const lines = [`loaded ${r.loaded.length} tensors; wrote ${out}`];
  const conversions = new Map<string, number>();
  for (const c of r.converted.values()) conversions.set(c, (conversions.get(c) ?? 0) + 1);
  for (const [c, n] of conversions) lines.push(`converted ${n} tensors ${c}`);
  if (r.skipped.length) lines.push(`skipped ${r.skipped.length} buffers that ONNX never holds: ${list(r.skipped, 3)}`);
  if (nonTensors.length) lines.push(`ignored ${nonTensors.length} non-tensor entries: ${list(nonTensors)}`);
  if (r.missing.length) lines.push(`missing keys (kept the model's values): ${list(r.missing)}`);
  if (r.unexpected.length) lines.push(`unexpected keys (ignored): ${list(r.unexpected)}`);
  return `${lines.join("\n")}\n`;
}
