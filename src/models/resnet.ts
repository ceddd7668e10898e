/**
 * torchvision's ResNet-18 as an ONNX model laid out the way `torch.onnx.export(..., training=PRESERVE,
 * do_constant_folding=False)` writes it: Conv and BatchNormalization kept apart, every initializer under its
 * state_dict name (`layer2.0.downsample.1.running_var`), node and value names as the exporter makes them
 * (`/layer1/layer1.0/conv1/Conv`, `/layer1/layer1.0/conv1/Conv_output_0`), input `input` [N,C,H,W] with a
 * dynamic batch, output `logits` [N,K], opset 17. Parameters use torchvision's initialisation.
 */
import { float, type Attrs } from "../onnx/attributes.js";
import { GraphBuilder } from "../onnx/builder.js";
import { newGraph, newModel, newOpset, type ModelProto } from "../onnx/proto.js";
import type { Tensor } from "../onnx/tensor.js";
import { UserError } from "../errors.js";
import { batchNormInit, kaimingNormalFanOut, seededRandom, uniformFanIn, type Random } from "./init.js";

export type ResNetStem = "torchvision" | "small";

export interface ResNet18Options {
  /** Channels of the first stage; the stages use width, 2w, 4w, 8w. Default 64 (torchvision). */
  width?: number;
  /** Input channels: 1 or 3. Default 3. */
  channels?: number;
  /** Output classes. Default 10. */
  classes?: number;
  /** "torchvision": 7x7 stride-2 conv + 3x3 stride-2 max-pool; "small": 3x3 stride-1 conv, no pool. Default "torchvision". */
  stem?: ResNetStem;
  /** Input height and width (the graph declares them; the network itself accepts any size). Default 32. */
  imageSize?: number;
  /** Seed of the initialisation. Default 0. */
  seed?: number;
}

/** An ONNX file is one protobuf message, which holds at most 2 GiB; the graph itself needs a little of that. */
export const MAX_PARAMETER_BYTES = 2 ** 31 - 2 ** 24;
/** Largest declared input height and width. */
export const MAX_IMAGE_SIZE = 8192;

const BN_EPSILON = 1e-5;
const BN_MOMENTUM = 0.9; // ONNX's momentum: running = 0.9 * running + 0.1 * batch, PyTorch's momentum 0.1

function validated(opts: ResNet18Options): Required<ResNet18Options> {
  const o = { width: 64, channels: 3, classes: 10, stem: "torchvision" as ResNetStem, imageSize: 32, seed: 0, ...opts };
  const problems: string[] = [];
  const positiveInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) problems.push(`${name} must be a positive integer, got ${v}`);
  };
  positiveInt("width", o.width);
  positiveInt("classes", o.classes);
  positiveInt("imageSize", o.imageSize);
  if (o.channels !== 1 && o.channels !== 3) problems.push(`channels must be 1 or 3, got ${o.channels}`);
  if (o.stem !== "torchvision" && o.stem !== "small")
    problems.push(`stem must be "torchvision" or "small", got "${o.stem}"`);
  if (!Number.isSafeInteger(o.seed)) problems.push(`seed must be an integer of at most 2^53, got ${o.seed}`);
  if (Number.isInteger(o.imageSize) && o.imageSize > MAX_IMAGE_SIZE)
    problems.push(`imageSize must be at most ${MAX_IMAGE_SIZE}, got ${o.imageSize}`);
  if (problems.length > 0) throw new UserError(problems.join("; "), "resnet18");
  const bytes = 4 * resnet18ParameterCount(o);
  if (bytes > MAX_PARAMETER_BYTES) {
    throw new UserError(
      `width ${o.width} and ${o.classes} classes make ${resnet18ParameterCount(o).toExponential(3)} parameters ` +
        `(${(bytes / 2 ** 30).toFixed(1)} GiB), more than an ONNX file holds (2 GiB); use a smaller width or fewer classes`,
      "resnet18",
    );
  }
  return o;
}

/** Number of values in the initializers of a ResNet-18 (BatchNormalization: 4 tensors per layer). */
export function resnet18ParameterCount(o: Required<Pick<ResNet18Options, "width" | "channels" | "classes" | "stem">>) {
  const k = o.stem === "torchvision" ? 7 : 3;
  let n = o.width * o.channels * k * k + 4 * o.width;
  let inC = o.width;
  for (let stage = 1; stage <= 4; stage++) {
    const outC = o.width * 2 ** (stage - 1);
    for (let block = 0; block < 2; block++) {
      const stride = stage > 1 && block === 0 ? 2 : 1;
      n += outC * inC * 9 + outC * outC * 9 + 8 * outC;
      if (stride !== 1 || inC !== outC) n += outC * inC + 4 * outC;
      inC = outC;
    }
  }
  return n + o.classes * inC + o.classes;
}

/** Builds the model with freshly initialised parameters. */
export function buildResNet18(options: ResNet18Options = {}): ModelProto {
  const o = validated(options);
  const random = seededRandom(o.seed);
  const graph = newGraph({ name: "main_graph" });
  const b = new GraphBuilder(graph);
  b.addInput("input", "float32", ["N", o.channels, o.imageSize, o.imageSize]);
  const net = new Net(b, random);

  const k = o.stem === "torchvision" ? 7 : 3;
  let x = net.conv("/conv1", "conv1", "input", o.channels, o.width, {
    kernel: k,
    stride: o.stem === "torchvision" ? 2 : 1,
    pad: (k - 1) / 2,
  });
  x = net.bn("/bn1", "bn1", x, o.width);
  x = net.unary("/relu/Relu", "Relu", x);
  if (o.stem === "torchvision") {
    x = net.unary("/maxpool/MaxPool", "MaxPool", x, {
      ceil_mode: 0,
      dilations: [1, 1],
      kernel_shape: [3, 3],
      pads: [1, 1, 1, 1],
      strides: [2, 2],
    });
  }
  let inC = o.width;
  for (let stage = 1; stage <= 4; stage++) {
    const outC = o.width * 2 ** (stage - 1);
    for (let block = 0; block < 2; block++) {
      const stride = stage > 1 && block === 0 ? 2 : 1;
      x = net.basicBlock(`layer${stage}`, `layer${stage}.${block}`, x, inC, outC, stride);
      inC = outC;
    }
  }
  x = net.unary("/avgpool/GlobalAveragePool", "GlobalAveragePool", x);
  x = net.unary("/Flatten", "Flatten", x, { axis: 1 });
  const fcDims = [o.classes, inC];
  const fcW = net.param("fc.weight", uniformFanIn(fcDims, fcDims, random));
  const fcB = net.param("fc.bias", uniformFanIn([o.classes], fcDims, random));
  b.node("Gemm", [x, fcW, fcB], {
    name: "/fc/Gemm",
    outputs: ["logits"],
    attrs: { alpha: float(1), beta: float(1), transB: 1 },
  });
  b.addOutput("logits", "float32", ["N", o.classes]);

  return newModel({
    irVersion: 8n,
    producerName: "onnx-unlearn",
    producerVersion: "0.1.0",
    opsetImport: [newOpset("", 17)],
    graph,
    docString: `torchvision-layout ResNet-18: width ${o.width}, ${o.channels} channel(s), ${o.classes} classes, ${o.stem} stem, seed ${o.seed}`,
  });
}

interface ConvShape {
  kernel: number;
  stride: number;
  pad: number;
}

/** Emits layers with exporter-style names; initializers are added in state_dict order. */
class Net {
  constructor(
    private readonly b: GraphBuilder,
    private readonly random: Random,
  ) {}

  param(name: string, t: Tensor): string {
    const got = this.b.initializer(name, t);
    if (got !== name) throw new Error(`duplicate parameter name ${name}`);
    return got;
  }

  private named(scope: string, op: string, inputs: string[], attrs?: Attrs): string {
    const name = `${scope}/${op}`;
    return this.b.node(op, inputs, { name, outputs: [`${name}_output_0`], attrs })[0]!;
  }

  unary(name: string, op: string, x: string, attrs?: Attrs): string {
    return this.b.node(op, [x], { name, outputs: [`${name}_output_0`], attrs })[0]!;
  }

  conv(scope: string, prefix: string, x: string, inC: number, outC: number, s: ConvShape): string {
    const w = this.param(`${prefix}.weight`, kaimingNormalFanOut([outC, inC, s.kernel, s.kernel], this.random));
    return this.named(scope, "Conv", [x, w], {
      dilations: [1, 1],
      group: 1,
      kernel_shape: [s.kernel, s.kernel],
      pads: [s.pad, s.pad, s.pad, s.pad],
      strides: [s.stride, s.stride],
    });
  }

  bn(scope: string, prefix: string, x: string, c: number): string {
    const init = batchNormInit(c);
    const inputs = [
      x,
      this.param(`${prefix}.weight`, init.weight),
      this.param(`${prefix}.bias`, init.bias),
      this.param(`${prefix}.running_mean`, init.runningMean),
      this.param(`${prefix}.running_var`, init.runningVar),
    ];
    return this.named(scope, "BatchNormalization", inputs, {
      epsilon: float(BN_EPSILON),
      momentum: float(BN_MOMENTUM),
      training_mode: 0,
    });
  }

  basicBlock(stageName: string, blockName: string, x: string, inC: number, outC: number, stride: number): string {
    const scope = `/${stageName}/${blockName}`;
    let y = this.conv(`${scope}/conv1`, `${blockName}.conv1`, x, inC, outC, { kernel: 3, stride, pad: 1 });
    y = this.bn(`${scope}/bn1`, `${blockName}.bn1`, y, outC);
    y = this.unary(`${scope}/relu/Relu`, "Relu", y);
    y = this.conv(`${scope}/conv2`, `${blockName}.conv2`, y, outC, outC, { kernel: 3, stride: 1, pad: 1 });
    y = this.bn(`${scope}/bn2`, `${blockName}.bn2`, y, outC);
    let shortcut = x;
    if (stride !== 1 || inC !== outC) {
      shortcut = this.conv(`${scope}/downsample/downsample.0`, `${blockName}.downsample.0`, x, inC, outC, {
        kernel: 1,
        stride,
        pad: 0,
      });
      shortcut = this.bn(`${scope}/downsample/downsample.1`, `${blockName}.downsample.1`, shortcut, outC);
    }
    const sum = this.named(scope, "Add", [y, shortcut]);
    return this.unary(`${scope}/relu_1/Relu`, "Relu", sum);
  }
}
