/**
 * Small hand-built graphs in the shape PyTorch exports the architectures the tool must also handle:
 * a MobileNetV2 block (ReLU6 as Clip with min/max inputs, depthwise conv, BN after every conv, residual) and
 * a one-block vision transformer (patch-embedding conv, class token through Expand/Concat, position
 * embedding, LayerNormalization, MatMul attention with Split/Reshape/Transpose/Softmax, GELU as Erf or as
 * the Gelu op, Gather of the class token).
 */
import seedrandom from "seedrandom";
import { float } from "../../../src/onnx/attributes.js";
import type { GraphBuilder } from "../../../src/onnx/builder.js";
import type { ModelFile } from "../../../src/onnx/model-io.js";
import { float32, int64, numel } from "../../../src/onnx/tensor.js";
import { modelOf } from "./helpers.js";

export const CLASSES = 5;
export const INPUT = [3, 8, 8];

function weights(seed: string) {
  const r = seedrandom(seed);
  return (g: GraphBuilder, name: string, dims: number[], scale = 0.5, offset = 0) =>
    g.initializer(
      name,
      float32(
        dims,
        Array.from({ length: numel(dims) }, () => offset + (r() * 2 - 1) * scale),
      ),
    );
}

/** `activation` false leaves out the ReLU6 (Clip) nodes. */
export function mobileNetBlock(activation = true): ModelFile {
  const w = weights("mobilenet");
  return modelOf((g) => {
    g.addInput("input", "float32", ["N", ...INPUT]);
    const [zero, six] = activation
      ? [g.initializer("relu6_min", float32([], [0])), g.initializer("relu6_max", float32([], [6]))]
      : ["", ""];
    const convBn = (
      x: string,
      name: string,
      cin: number,
      cout: number,
      k: number,
      attrs: Record<string, number | number[]>,
      relu6: boolean,
    ) => {
      const conv = g.op("Conv", [x, w(g, `${name}.0.weight`, [cout, cin, k, k])], attrs);
      const bn = g.op(
        "BatchNormalization",
        [
          conv,
          w(g, `${name}.1.weight`, [cout], 0.2, 1),
          w(g, `${name}.1.bias`, [cout], 0.1),
          w(g, `${name}.1.running_mean`, [cout], 0.1),
          w(g, `${name}.1.running_var`, [cout], 0.2, 1),
        ],
        { epsilon: float(1e-5), momentum: float(0.9) },
      );
      return relu6 && activation ? g.op("Clip", [bn, zero, six]) : bn;
    };
    const stem = convBn("input", "features.0", 3, 8, 3, { pads: [1, 1, 1, 1], strides: [2, 2] }, true);
    const expand = convBn(stem, "features.1.conv.0", 8, 16, 1, {}, true);
    const depthwise = convBn(expand, "features.1.conv.1", 1, 16, 3, { pads: [1, 1, 1, 1], group: 16 }, true);
    const project = convBn(depthwise, "features.1.conv.2", 16, 8, 1, {}, false);
    const pooled = g.op("Flatten", [g.op("GlobalAveragePool", [g.op("Add", [stem, project])])]);
    g.node("Gemm", [pooled, w(g, "classifier.weight", [CLASSES, 8]), w(g, "classifier.bias", [CLASSES], 0.1)], {
      outputs: ["logits"],
      attrs: { transB: 1 },
    });
    g.addOutput("logits", "float32", ["N", CLASSES]);
  });
}

/** One transformer block, D = 8, 2 heads, 4 patches of 4x4 + the class token; `opset` 20 uses the Gelu op. */
export function tinyVit(opset: 17 | 20): ModelFile {
  const w = weights(`vit${opset}`);
  return modelOf((g) => {
    const c = (name: string, dims: number[], values: number[]) => g.initializer(name, int64(dims, values));
    const s = (name: string, v: number) => g.initializer(name, float32([], [v]));
    g.addInput("input", "float32", ["N", ...INPUT]);
    const patches = g.op("Conv", ["input", w(g, "patch.weight", [8, 3, 4, 4], 0.3), w(g, "patch.bias", [8], 0.1)], {
      strides: [4, 4],
    });
    const tokens = g.op("Transpose", [g.op("Reshape", [patches, c("shape_tokens", [3], [0, 8, -1])])], {
      perm: [0, 2, 1],
    });
    const batch = g.op("Slice", [g.op("Shape", [tokens]), c("start0", [1], [0]), c("end1", [1], [1])]);
    const clsShape = g.op("Concat", [batch, c("one_d", [2], [1, 8])], { axis: 0 });
    const cls = g.op("Expand", [w(g, "cls_token", [1, 1, 8], 0.2), clsShape]);
    const h = g.op("Add", [g.op("Concat", [cls, tokens], { axis: 1 }), w(g, "pos_embed", [1, 5, 8], 0.2)]);
    const ln = (x: string, name: string) =>
      g.op("LayerNormalization", [x, w(g, `${name}.weight`, [8], 0.2, 1), w(g, `${name}.bias`, [8], 0.1)], {
        axis: -1,
        epsilon: float(1e-6),
      });
    const linear = (x: string, name: string, din: number, dout: number) =>
      g.op("Add", [g.op("MatMul", [x, w(g, `${name}.weight_t`, [din, dout], 0.4)]), w(g, `${name}.bias`, [dout], 0.1)]);
    const qkv = linear(ln(h, "norm1"), "attn.qkv", 8, 24);
    const [q, k, v] = g.node("Split", [qkv, c("split", [3], [8, 8, 8])], { outputs: 3, attrs: { axis: -1 } });
    const heads = (x: string, perm: number[]) =>
      g.op("Transpose", [g.op("Reshape", [x, c(`shape_heads_${perm.join("")}`, [4], [0, 0, 2, 4])])], { perm });
    const scores = g.op("Mul", [
      g.op("MatMul", [heads(q!, [0, 2, 1, 3]), heads(k!, [0, 2, 3, 1])]),
      s("attn_scale", 0.5),
    ]);
    const attended = g.op("MatMul", [g.op("Softmax", [scores], { axis: -1 }), heads(v!, [0, 2, 1, 3])]);
    const merged = g.op("Reshape", [
      g.op("Transpose", [attended], { perm: [0, 2, 1, 3] }),
      c("shape_merge", [3], [0, 0, 8]),
    ]);
    const h1 = g.op("Add", [h, linear(merged, "attn.proj", 8, 8)]);
    const fc1 = linear(ln(h1, "norm2"), "mlp.fc1", 8, 16);
    const gelu =
      opset === 20
        ? g.op("Gelu", [fc1])
        : g.op("Mul", [
            g.op("Mul", [fc1, s("half", 0.5)]),
            g.op("Add", [g.op("Erf", [g.op("Div", [fc1, s("sqrt2", Math.SQRT2)])]), s("one", 1)]),
          ]);
    const h2 = g.op("Add", [h1, linear(gelu, "mlp.fc2", 16, 8)]);
    const clsOut = g.op("Gather", [h2, g.initializer("cls_index", int64([], [0]))], { axis: 1 });
    g.node("Gemm", [ln(clsOut, "norm"), w(g, "head.weight", [CLASSES, 8], 0.4), w(g, "head.bias", [CLASSES], 0.1)], {
      outputs: ["logits"],
      attrs: { transB: 1 },
    });
    g.addOutput("logits", "float32", ["N", CLASSES]);
  }, opset);
}
