import type { Command } from "commander";
import { UserError } from "../../errors.js";
import { buildZooModel, ZOO, type ResNetStem } from "../../models/index.js";
import { saveModel } from "../../onnx/model-io.js";

interface ZooCliOptions {
  width?: string;
  channels?: string;
  classes?: string;
  stem?: string;
  image?: string;
  seed?: string;
  out: string;
}

function int(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new UserError(`${flag} expects an integer, got '${v}'`);
  return n;
}

export function register(program: Command): void {
  program
    .command("zoo")
    .description(`write a freshly initialised model of the zoo as ONNX (${Object.keys(ZOO).join(", ")})`)
    .argument("<model>", Object.entries(ZOO).map(([k, e]) => `${k}: ${e.description}`).join("; "))
    .option("--width <n>", "channels of the first stage (resnet18: 64, resnet18w8: 8)")
    .option("--channels <n>", "input channels, 1 or 3", "3")
    .option("--classes <n>", "number of classes", "10")
    .option("--stem <kind>", "torchvision (7x7 s2 + max-pool) or small (3x3 s1) (resnet18: torchvision, resnet18w8: small)")
    .option("--image <n>", "input height and width declared in the graph", "32")
    .option("--seed <n>", "seed of the initialisation", "0")
    .requiredOption("--out <file>", "output ONNX file")
    .action((name: string, o: ZooCliOptions) => {
      const model = buildZooModel(name, {
        width: int("--width", o.width),
        channels: int("--channels", o.channels),
        classes: int("--classes", o.classes),
        stem: o.stem as ResNetStem | undefined,
        imageSize: int("--image", o.image),
        seed: int("--seed", o.seed),
      });
      saveModel(model, o.out);
      process.stdout.write(`${o.out}: ${model.docString}\n`);
    });
}
