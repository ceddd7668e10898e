import type { Command } from "commander";
import { exportWeights } from "../../interop/state-dict.js";
import { writeSafetensors } from "../../io/safetensors.js";
import { loadModel } from "../../onnx/model-io.js";

export function register(program: Command): void {
  program
    .command("export-weights")
    .description("write the model's parameters (initializers, under their names) as safetensors")
    .argument("<model>", "ONNX model file")
    .argument("<out>", "output .safetensors file")
    .option("--all", "every initializer, constants included (default: the layers' parameters and buffers)")
    .action((modelPath: string, out: string, o: { all?: boolean }) => {
      const tensors = exportWeights(loadModel(modelPath), { all: o.all });
      writeSafetensors(out, tensors);
      process.stdout.write(`wrote ${tensors.size} tensors to ${out}\n`);
    });
}
