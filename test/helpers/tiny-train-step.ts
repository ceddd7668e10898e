/**
 * A hand-built train step in the artifacts' format, independent of the autodiff: logits = Flatten(x) W^T + b,
 * loss = mean((logits - t)^2), gradients written out by hand, torch-style SGD with momentum and weight decay.
 * Small enough to check against plain JavaScript arithmetic.
 */
import { GraphBuilder } from "../../src/onnx/builder.js";
import { newGraph, newModel, newOpset, type ModelProto } from "../../src/onnx/proto.js";
import { float32, type Tensor } from "../../src/onnx/tensor.js";
import type { ArtifactsLike, StateSpec } from "../../src/training/session/index.js";

export const TINY = { features: 4, classes: 3, momentum: 0.9, weightDecay: 5e-4 } as const;

const model = (b: GraphBuilder): ModelProto =>
  newModel({ irVersion: 8n, opsetImport: [newOpset("", 17)], graph: b.graph });

function evalModel(): ModelProto {
  const b = new GraphBuilder(newGraph({ name: "tiny" }));
  b.addInput("input", "float32", ["N", 1, 2, 2]);
  b.addInput("W", "float32", [TINY.classes, TINY.features]);
  b.addInput("b", "float32", [TINY.classes]);
  const flat = b.op("Flatten", ["input"], { axis: 1 });
  b.node("Gemm", [flat, "W", "b"], { outputs: ["logits"], attrs: { transB: 1 } });
  b.addOutput("logits", "float32", ["N", TINY.classes]);
  return model(b);
}

function trainStep(): ModelProto {
  const b = new GraphBuilder(newGraph({ name: "tiny_train" }));
  b.addInput("input", "float32", ["N", 1, 2, 2]);
  b.addInput("targets", "float32", ["N", TINY.classes]);
  b.addInput("lr", "float32", []);
  for (const [name, dims] of [
    ["W", [TINY.classes, TINY.features]],
    ["b", [TINY.classes]],
    ["W.momentum", [TINY.classes, TINY.features]],
    ["b.momentum", [TINY.classes]],
  ] as const) {
    b.addInput(name, "float32", [...dims]);
  }
  const flat = b.op("Flatten", ["input"], { axis: 1 });
  b.node("Gemm", [flat, "W", "b"], { outputs: ["logits"], attrs: { transB: 1 } });
  const diff = b.op("Sub", ["logits", "targets"]);
  b.node("ReduceMean", [b.op("Mul", [diff, diff])], { outputs: ["loss"], attrs: { keepdims: 0 } });
  // dL/dlogits = 2 (logits - t) / (N K); N K = Size(diff)
  const size = b.op("Cast", [b.op("Size", [diff])], { to: 1 });
  const g = b.op("Div", [b.op("Mul", [diff, b.constant("two", float32([], [2]))]), size]);
  const gradW = b.op("Gemm", [g, flat], { transA: 1 }); // dW = G^T X
  const gradB = b.op(
    "ReduceSum",
    [g, b.constant("axis0", { dtype: "int64", dims: [1], data: new BigInt64Array([0n]) })],
    { keepdims: 0 },
  );
  const wd = b.constant("wd", float32([], [TINY.weightDecay]));
  const mom = b.constant("mom", float32([], [TINY.momentum]));
  for (const [p, grad] of [
    ["W", gradW],
    ["b", gradB],
  ] as const) {
    const d = b.op("Add", [grad, b.op("Mul", [p, wd])]);
    b.node("Add", [b.op("Mul", [`${p}.momentum`, mom]), d], { outputs: [`${p}.momentum.new`] });
    b.node("Sub", [p, b.op("Mul", ["lr", `${p}.momentum.new`])], { outputs: [`${p}.new`] });
  }
  b.addOutput("loss", "float32", []);
  b.addOutput("logits", "float32", ["N", TINY.classes]);
  for (const o of ["W.new", "b.new", "W.momentum.new", "b.momentum.new"]) b.addOutput(o, "float32", undefined);
  return model(b);
}

/** The tiny artifacts with weights drawn from `random`. */
export function tinyArtifacts(random: () => number): ArtifactsLike {
  const state: StateSpec[] = [
    {
      name: "W",
      role: "param",
      initializer: "W",
      dtype: "float32",
      dims: [TINY.classes, TINY.features],
      output: "W.new",
    },
    { name: "b", role: "param", initializer: "b", dtype: "float32", dims: [TINY.classes], output: "b.new" },
    {
      name: "W.momentum",
      role: "momentum",
      initializer: null,
      dtype: "float32",
      dims: [TINY.classes, TINY.features],
      output: "W.momentum.new",
    },
    {
      name: "b.momentum",
      role: "momentum",
      initializer: null,
      dtype: "float32",
      dims: [TINY.classes],
      output: "b.momentum.new",
    },
  ];
  const fill = (n: number) => Array.from({ length: n }, () => random() - 0.5);
  const initialState = new Map<string, Tensor>([
    ["W", float32([TINY.classes, TINY.features], fill(TINY.classes * TINY.features))],
    ["b", float32([TINY.classes], fill(TINY.classes))],
    ["W.momentum", float32([TINY.classes, TINY.features], new Array(TINY.classes * TINY.features).fill(0))],
    ["b.momentum", float32([TINY.classes], [0, 0, 0])],
  ]);
  return {
    trainStep: trainStep(),
    eval: evalModel(),
    initialState,
    manifest: {
      source: { file: "tiny.onnx", inputName: "input", outputName: "logits", opset: 17 },
      inputs: { batch: "input", targets: "targets", lr: "lr" },
      outputs: { loss: "loss", logits: "logits" },
      state,
    },
  };
}

/** The same step in float64 JavaScript: returns the loss and updates `s` in place. */
export function tinyStepJs(
  s: Map<string, Float64Array>,
  x: Float32Array,
  t: Float32Array,
  n: number,
  lr: number,
): number {
  const { features: F, classes: K, momentum, weightDecay } = TINY;
  const W = s.get("W")!,
    b = s.get("b")!,
    mW = s.get("W.momentum")!,
    mb = s.get("b.momentum")!;
  const gW = new Float64Array(K * F),
    gb = new Float64Array(K);
  let loss = 0;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < K; k++) {
      let y = b[k]!;
      for (let f = 0; f < F; f++) y += x[i * F + f]! * W[k * F + f]!;
      const d = y - t[i * K + k]!;
      loss += d * d;
      const g = (2 * d) / (n * K);
      gb[k] += g;
      for (let f = 0; f < F; f++) gW[k * F + f] += g * x[i * F + f]!;
    }
  }
  for (const [p, m, g] of [
    [W, mW, gW],
    [b, mb, gb],
  ] as const) {
    for (let j = 0; j < p.length; j++) {
      m[j] = momentum * m[j]! + g[j]! + weightDecay * p[j]!;
      p[j] = p[j]! - lr * m[j]!;
    }
  }
  return loss / (n * K);
}
