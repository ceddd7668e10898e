/**
 * The model zoo: named presets over the builders. `resnet18` is torchvision's ResNet-18 (width 64, 7x7 stem);
 * `resnet18w8` is the demo's small model (width 8, 3x3 stem), the layout of the PyTorch fixtures
 * `resnet18w8_fmnist` (1 channel, 28x28) and, with `stem: "torchvision"`, `resnet18w8_tvstem`.
 */
import { UserError } from "../errors.js";
import type { ModelProto } from "../onnx/proto.js";
import { buildResNet18, type ResNet18Options } from "./resnet.js";

export { buildResNet18, type ResNet18Options, type ResNetStem } from "./resnet.js";

export type ZooOptions = ResNet18Options;

interface ZooEntry {
  description: string;
  defaults: ResNet18Options;
  build: (opts: ResNet18Options) => ModelProto;
}

export const ZOO: Record<string, ZooEntry> = {
  resnet18: {
    description: "torchvision ResNet-18 (width 64, 7x7 stride-2 stem + max-pool)",
    defaults: { width: 64, stem: "torchvision" },
    build: buildResNet18,
  },
  resnet18w8: {
    description: "ResNet-18 at width 8 with the small-image 3x3 stem (the demo's model, ~175k parameters)",
    defaults: { width: 8, stem: "small" },
    build: buildResNet18,
  },
};

/** Builds a zoo model; `opts` override the preset's defaults (undefined fields keep them). */
export function buildZooModel(name: string, opts: ZooOptions = {}): ModelProto {
  const entry = ZOO[name];
  if (!entry) throw new UserError(`unknown zoo model '${name}'; available: ${Object.keys(ZOO).join(", ")}`);
  const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
  return entry.build({ ...entry.defaults, ...given });
}
