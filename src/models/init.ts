/**
 * PyTorch's default initialisers, as torchvision's ResNet applies them, drawn from a seeded generator so that
 * a model is reproducible from its seed. Also usable to re-initialise single layers "as a fresh model would".
 */
import seedrandom from "seedrandom";
import { numel, type Tensor } from "../onnx/tensor.js";

/** A seeded source of uniform [0, 1) numbers. */
export type Random = () => number;

export const seededRandom = (seed: number | string): Random => seedrandom(String(seed));

/** Standard normal draws by Box-Muller (both values of each pair used). */
export function normalSampler(random: Random): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = random();
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * random();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
}

const fanIn = (dims: number[]) => numel(dims.slice(1));
const fanOut = (dims: number[]) => dims[0]! * numel(dims.slice(2));

/** `nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")`: N(0, 2 / fan_out), torchvision's conv init. */
export function kaimingNormalFanOut(dims: number[], random: Random): Tensor {
  const std = Math.sqrt(2 / fanOut(dims));
  const normal = normalSampler(random);
  const n = numel(dims);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = std * normal();
  return { dtype: "float32", dims: [...dims], data };
}

/** U(-bound, bound) with bound = 1 / sqrt(fan_in): PyTorch's default for Linear and Conv weights
 *  (kaiming_uniform_ with a = sqrt(5)) and for their biases. `fanInOf` is the weight's fan-in, or its
 *  PyTorch-layout shape ([out, in, ...kernel]) to compute it from. */
export function uniformFanIn(dims: number[], fanInOf: number | number[], random: Random): Tensor {
  const bound = 1 / Math.sqrt(typeof fanInOf === "number" ? fanInOf : fanIn(fanInOf));
  const n = numel(dims);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (2 * random() - 1) * bound;
  return { dtype: "float32", dims: [...dims], data };
}

export const filled = (dims: number[], value: number): Tensor => ({
  dtype: "float32",
  dims: [...dims],
  data: new Float32Array(numel(dims)).fill(value),
});

/** A fresh BatchNorm2d(c): weight 1, bias 0, running_mean 0, running_var 1. */
export function batchNormInit(channels: number): {
  weight: Tensor;
  bias: Tensor;
  runningMean: Tensor;
  runningVar: Tensor;
} {
  return {
    weight: filled([channels], 1),
    bias: filled([channels], 0),
    runningMean: filled([channels], 0),
    runningVar: filled([channels], 1),
  };
}
