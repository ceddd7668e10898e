/**
 * The model a `train` run starts from: `zoo:<name>[:key=value,...]` (channels, classes and image size default to
 * the data's) or an ONNX file whose every layer gets fresh values (training from scratch keeps only the graph).
 * Either way the run seed decides the initial weights.
 */
import { existsSync } from "node:fs";
import type { Dataset } from "../data/index.js";
import { rngFor } from "../data/random.js";
import { UserError } from "../errors.js";
import { withWeights } from "../interop/with-weights.js";
import { buildZooModel, ZOO, type ZooOptions } from "../models/index.js";
import { layerInventory } from "../onnx/layers.js";
import { loadModel, readInitializers, type ModelFile } from "../onnx/model-io.js";
import { checkTrainable } from "../training/artifacts/check-model.js";
import type { Tensor } from "../onnx/tensor.js";
import { sha256File } from "../runs/index.js";
import { freshLayerTensors } from "../unlearning/reinit.js";

export interface ModelSpec {
  /** For the manifest: the zoo spec resolved, or the file and its sha256. */
  record: { model?: string; sha256?: string; zoo?: string };
  /** The starting model for run seed `seed`. */
  build(seed: number): ModelFile;
}

const ZOO_KEYS = ["width", "channels", "classes", "imageSize", "stem"] as const;

export function parseModelSpec(spec: string, dataset: Dataset): ModelSpec {
  if (spec.startsWith("zoo:")) return zooSpec(spec, dataset);
  if (!existsSync(spec)) {
    throw new UserError(
      `no such file; --model expects a .onnx file or zoo:<name>[:key=value,...] (${Object.keys(ZOO).join(", ")})`,
      spec,
    );
  }
  const model = loadModel(spec);
  checkTrainable(model);
  const sha256 = sha256File(spec);
  const current = readInitializers(model);
  return {
    record: { model: spec, sha256 },
    build(seed) {
      const rng = rngFor(seed, "init");
      const fresh = new Map<string, Tensor>();
      for (const layer of layerInventory(model).layers) {
        for (const [name, t] of freshLayerTensors(layer, current, "torchvision", rng)) fresh.set(name, t);
      }
      return withWeights(model, fresh);
    },
  };
}

function zooSpec(spec: string, dataset: Dataset): ModelSpec {
  const [, name = "", args = ""] = spec.split(":");
  if (!ZOO[name]) throw new UserError(`unknown zoo model '${name}'; available: ${Object.keys(ZOO).join(", ")}`, spec);
  const opts: Record<string, string | number> = {
    channels: dataset.shape.channels,
    classes: dataset.numClasses,
    imageSize: dataset.shape.height,
  };
  for (const kv of args.split(",").filter(Boolean)) {
    const [k, v] = kv.split("=");
    if (!ZOO_KEYS.includes(k as (typeof ZOO_KEYS)[number]) || v === undefined || v === "") {
      throw new UserError(`expected key=value with key one of ${ZOO_KEYS.join(", ")}, got '${kv}'`, spec);
    }
    opts[k!] = k === "stem" ? v : Number(v);
    if (k !== "stem" && !(Number.isInteger(opts[k!]) && (opts[k!] as number) >= 1)) {
      throw new UserError(`${k} expects a whole number >= 1, got '${v}'`, spec);
    }
  }
  const resolved = `zoo:${name}:${Object.entries(opts)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(",")}`;
  return {
    record: { zoo: resolved },
    build(seed) {
      const proto = buildZooModel(name, { ...(opts as ZooOptions), seed });
      return { proto, file: `${resolved} (seed ${seed})` } as ModelFile;
    },
  };
}
