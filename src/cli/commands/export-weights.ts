import type { Command } from "commander";
import { exportWeights } from "../../interop/state-dict.js";
import { checkNotAnInput, checkOutputPath, type InputFile } from "../../io/paths.js";
import { writeSafetensors } from "../../io/safetensors.js";
import { externalDataFiles } from "../../onnx/external-data.js";
import { loadModel } from "../../onnx/model-io.js";

export function register(program: Command): void {
  program
    .command("export-weights")
    .description("write the model's parameters (initializers, under their names) as safetensors")
    .argument("<model>", "ONNX model file")
    .argument("<out>", "output .safetensors file")
    .option("--all", "every initializer, constants included (default: the layers' parameters and buffers)")
    .action((modelPath: string, out: string, o: { all?: boolean }) => {
      checkOutputPath(out, "<out>");
      const model = loadModel(modelPath);
      checkNotAnInput(out, modelInputs(modelPath, externalDataFiles(model)), "<out>");
      const tensors = exportWeights(model, { all: o.all });
      writeSafetensors(out, tensors);
      process.stdout.write(`wrote ${tensors.size} tensors to ${out}\n`);
    });
}

/** The model file and its external-data files, as inputs an output must not overwrite. */
function modelInputs(modelPath: string, sideFiles: string[]): InputFile[] {
  return [
    { path: modelPath, what: "the model" },
    ...sideFiles.map((path) => ({ path, what: "an external-data file of the model" })),
  ];
}
