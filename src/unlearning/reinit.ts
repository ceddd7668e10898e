/**
 * The forgetting phase: draw k layers uniformly, with replacement, from the re-initialisation pool (body
 * layers: never the classifier or projection shortcuts), and give them fresh values as a newly built PyTorch
 * model would. Every draw comes from the run's seed.
 */
import type { Layer, LayerParam } from "../onnx/layers.js";
import { numel, type Tensor } from "../onnx/tensor.js";
import { UserError } from "../errors.js";
import type { Rng } from "../data/random.js";
import { kaimingNormalFanOut, uniformFanIn } from "../models/init.js";

/**
 * How a fresh layer looks:
 * - "torchvision": conv weights kaiming_normal_(mode="fan_out", relu) as torchvision's ResNet/MobileNet do;
 *   linear (Gemm/MatMul) weights PyTorch's default; every bias 0 (torchvision convs have none, and a BN
 *   folded into a conv leaves a bias that is 0 for a fresh BN).
 * - "pytorch-default": nn.Conv2d / nn.Linear reset_parameters(): kaiming_uniform_(a=sqrt(5)), i.e.
 *   U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases.
 * In both, BatchNorm / LayerNorm scales are 1, shifts 0, running means 0 and running variances 1.
 */
export type InitScheme = "torchvision" | "pytorch-default";
export const INIT_SCHEMES: InitScheme[] = ["torchvision", "pytorch-default"];

/** k draws with replacement from the pool; returns the drawn layers (distinct, in graph order) and all draws. */
export function drawLayers(pool: Layer[], k: number, rng: Rng): { layers: Layer[]; draws: string[] } {
  if (pool.length === 0) throw new UserError("the model has no layer that may be re-initialised (no body layers)");
  if (!Number.isInteger(k) || k < 0) throw new UserError(`layers per cycle must be an integer >= 0, got ${k}`);
  const drawn = Array.from({ length: k }, () => pool[Math.floor(rng() * pool.length)]!);
  const set = new Set(drawn);
  return { layers: pool.filter((l) => set.has(l)), draws: drawn.map((l) => l.name) };
}

/** Fresh values for every tensor of `layer`, shaped and typed like `current`. */
export function freshLayerTensors(
  layer: Layer,
  current: Map<string, Tensor>,
  scheme: InitScheme,
  rng: Rng,
): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const p of layer.params) {
    const now = current.get(p.name);
    if (!now) throw new UserError(`layer '${layer.name}': the model has no tensor '${p.name}'`);
    if (now.dtype !== "float32")
      throw new UserError(
        `layer '${layer.name}': tensor '${p.name}' is ${now.dtype}; re-initialisation supports float32`,
      );
    out.set(p.name, { dtype: "float32", dims: [...now.dims], data: freshValues(layer, p, scheme, rng) });
  }
  return out;
}

function freshValues(layer: Layer, p: LayerParam, scheme: InitScheme, rng: Rng): Float32Array {
  const n = numel(p.dims);
  const fill = (v: number) => new Float32Array(n).fill(v);
  const uniform = () => uniformFanIn(p.dims, fanIn, rng).data as Float32Array;
  const fanIn = layer.fanIn ?? numel(p.dims.slice(1));
  switch (p.kind) {
    case "bn-scale":
    case "norm-scale":
    case "bn-var":
      return fill(1);
    case "bn-bias":
    case "norm-bias":
    case "bn-mean":
      return fill(0);
    case "bias":
      return scheme === "torchvision" ? fill(0) : uniform();
    case "weight": {
      const isConv = layer.op === "Conv" || layer.op === "ConvTranspose";
      if (scheme === "torchvision" && isConv) return kaimingNormalFanOut(p.dims, rng).data as Float32Array;
      return uniform();
    }
  }
}
