import type { Command } from "commander";
import { buildZooModel, ZOO, type ResNetStem } from "../../models/index.js";
import { checkOutputPath } from "../../io/paths.js";
import { saveModel } from "../../onnx/model-io.js";
import { parseInteger } from "../parse.js";

interface ZooCliOptions {
  width?: string;
  channels?: string;
  classes?: string;
  stem?: string;
  image?: string;
  seed?: string;
  out: string;
}

export function register(program: Command): void {
  program
    .command("zoo")
    .description(`write a freshly initialised model of the zoo as ONNX (${Object.keys(ZOO).join(", ")})`)
    .argument(
      "<model>",
      Object.entries(ZOO)
        .map(([k, e]) => `${k}: ${e.description}`)
        .join("; "),
    )
    .option("--width <n>", "channels of the first stage (resnet18: 64, resnet18w8: 8)")
    .option("--channels <n>", "input channels, 1 or 3", "3")
    .option("--classes <n>", "number of classes", "10")
    .option(
      "--stem <kind>",
      "torchvision (7x7 s2 + max-pool) or small (3x3 s1) (resnet18: torchvision, resnet18w8: small)",
    )
    .option("--image <n>", "input height and width declared in the graph", "32")
    .option("--seed <n>", "seed of the initialisation", "0")
    .requiredOption("--out <file>", "output ONNX file")
    .action((name: string, o: ZooCliOptions) => {
      checkOutputPath(o.out, "--out");
      const model = buildZooModel(name, {
        width: parseInteger("--width", o.width),
        channels: parseInteger("--channels", o.channels),
        classes: parseInteger("--classes", o.classes),
        stem: o.stem as ResNetStem | undefined,
        imageSize: parseInteger("--image", o.image),
        seed: parseInteger("--seed", o.seed),
      });
      saveModel(model, o.out);
      process.stdout.write(`${o.out}: ${model.docString}\n`);
    });
}
