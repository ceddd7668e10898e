/**
 * Gradient checks of small graphs written the way PyTorch exports them: a vision-transformer block with
 * TorchScript-style shape arithmetic (Shape/Gather/Unsqueeze/Concat feeding Reshape and Expand), the same
 * block as a dynamo export (opset 18: Split num_outputs, decomposed LayerNorm, Slice/Squeeze), and a
 * MobileNetV2 inverted residual (depthwise Conv, BatchNormalization, ReLU6 as Clip).
 */
import { float, makeAttributes, type Attrs } from "../../src/onnx/attributes.js";
import { newNode, type NodeProto } from "../../src/onnx/proto.js";
import { checkGraphGradient, type GraphCheckCase } from "../helpers/gradcheck.js";

class Nodes {
  readonly list: NodeProto[] = [];
  private count = 0;
  add(opType: string, input: string[], attrs?: Attrs, outputs = 1): string[] {
    const name = `${opType.toLowerCase()}_${this.count++}`;
    const output = Array.from({ length: outputs }, (_, k) => (k === 0 ? name : `${name}:${k}`));
    this.list.push(newNode({ opType, name, input, output, attribute: makeAttributes(attrs) }));
    return output;
  }
  op(opType: string, input: string[], attrs?: Attrs): string {
    return this.add(opType, input, attrs)[0]!;
  }
}

const i64 = (name: string, values: number[], dims = [values.length]) => ({
  name,
  dims,
  dtype: "int64" as const,
  values,
  constant: true,
});
const w = (name: string, dims: number[], range: [number, number] = [-0.5, 0.5]) => ({ name, dims, range });
const c = (name: string, dims: number[], values: number[]) => ({
  name,
  dims,
  values,
  constant: true,
  dtype: "float32" as const,
});

type Inputs = GraphCheckCase["inputs"];

/** Patch embedding and class token, TorchScript style; returns tokens [2, 5, 4]. */
function embed(g: Nodes, inputs: Inputs): string {
  inputs.push(
    w("img", [2, 1, 4, 4], [-1, 1]),
    w("patch_w", [4, 1, 2, 2]),
    w("patch_b", [4]),
    w("cls", [1, 1, 4]),
    w("pos", [1, 5, 4]),
  );
  inputs.push(i64("zero", [0], []), i64("axes0", [0]), i64("four", [4]), i64("minus1", [-1]), i64("one", [1]));
  const conv = g.op("Conv", ["img", "patch_w", "patch_b"], { kernel_shape: [2, 2], strides: [2, 2] });
  const batch = g.op("Unsqueeze", [g.op("Gather", [g.op("Shape", [conv]), "zero"], { axis: 0 }), "axes0"]);
  const flat = g.op("Reshape", [conv, g.op("Concat", [batch, "four", "minus1"], { axis: 0 })]);
  const tokens = g.op("Transpose", [flat], { perm: [0, 2, 1] });
  // cls.expand(B, -1, -1): torch writes -1 as Where(Equal(shape, -1), ones, shape)
  const want = g.op("Concat", [batch, "minus1", "minus1"], { axis: 0 });
  const ones = g.op("ConstantOfShape", [g.op("Shape", [want])], {
    value: { dtype: "int64", dims: [1], data: BigInt64Array.from([1n]) },
  });
  const target = g.op("Where", [g.op("Equal", [want, "minus1"]), ones, want]);
  const cls = g.op("Expand", ["cls", target]);
  return g.op("Add", [g.op("Concat", [cls, tokens], { axis: 1 }), "pos"]);
}

/** Two-head self-attention on [2, 5, 4] from q, k, v of [2, 5, 4] each. */
function attention(g: Nodes, inputs: Inputs, q: string, k: string, v: string, x: string): string {
  inputs.push(
    i64("heads_shape", [2, 5, 2, 2]),
    i64("merged_shape", [2, 5, 4]),
    w("proj_w", [4, 4]),
    c("sqrt_d", [], [Math.SQRT2]),
  );
  const heads = (t: string, perm: number[]) => g.op("Transpose", [g.op("Reshape", [t, "heads_shape"])], { perm });
  const scores = g.op("Div", [g.op("MatMul", [heads(q, [0, 2, 1, 3]), heads(k, [0, 2, 3, 1])]), "sqrt_d"]);
  const ctx = g.op("MatMul", [g.op("Softmax", [scores], { axis: -1 }), heads(v, [0, 2, 1, 3])]);
  const merged = g.op("Reshape", [g.op("Transpose", [ctx], { perm: [0, 2, 1, 3] }), "merged_shape"]);
  return g.op("Add", [g.op("MatMul", [merged, "proj_w"]), x]);
}

/** MLP with GELU written out with Erf, and the classification head on the class token. */
function mlpAndHead(
  g: Nodes,
  inputs: Inputs,
  x: string,
  norm: (t: string) => string,
  clsToken: (t: string) => string,
): string {
  inputs.push(w("fc1_w", [4, 8]), w("fc2_w", [8, 4]), w("head_w", [3, 4]), w("head_b", [3]));
  inputs.push(c("half", [], [0.5]), c("onef", [], [1]));
  const h = g.op("MatMul", [norm(x), "fc1_w"]);
  const erf = g.op("Erf", [g.op("Div", [h, "sqrt_d"])]);
  const gelu = g.op("Mul", [g.op("Mul", [h, g.op("Add", [erf, "onef"])]), "half"]);
  const y = g.op("Add", [g.op("MatMul", [gelu, "fc2_w"]), x]);
  return g.op("Gemm", [clsToken(y), "head_w", "head_b"], { transB: 1 });
}

function torchScriptViT(): GraphCheckCase {
  const g = new Nodes();
  const inputs: Inputs = [];
  const x = embed(g, inputs);
  inputs.push(
    w("ln_w", [4], [0.5, 1.5]),
    w("ln_b", [4]),
    w("qkv_w", [4, 12]),
    w("qkv_b", [12]),
    i64("split", [4, 4, 4]),
  );
  const norm = (t: string) => g.op("LayerNormalization", [t, "ln_w", "ln_b"], { axis: -1, epsilon: float(1e-5) });
  const [q, k, v] = g.add(
    "Split",
    [g.op("Add", [g.op("MatMul", [norm(x), "qkv_w"]), "qkv_b"]), "split"],
    { axis: 2 },
    3,
  ) as [string, string, string];
  const y = attention(g, inputs, q, k, v, x);
  const logits = mlpAndHead(g, inputs, y, norm, (t) => g.op("Gather", [t, "zero"], { axis: 1 }));
  return {
    label: "ViT block, TorchScript style",
    nodes: g.list,
    inputs,
    outputs: [logits],
    opset: 17,
    dtype: "float32",
  };
}

/** timm style: qkv reshaped to [B, N, 3, H, D], permuted to [3, B, H, N, D] and unbound with Gather. */
function timmViT(): GraphCheckCase {
  const g = new Nodes();
  const inputs: Inputs = [];
  const x = embed(g, inputs);
  inputs.push(w("ln_w", [4], [0.5, 1.5]), w("ln_b", [4]), w("qkv_w", [4, 12]), i64("qkv_shape", [2, 5, 3, 2, 2]));
  inputs.push(i64("i1", [1], []), i64("i2", [2], []));
  const norm = (t: string) => g.op("LayerNormalization", [t, "ln_w", "ln_b"], { axis: -1, epsilon: float(1e-5) });
  const qkv = g.op("Transpose", [g.op("Reshape", [g.op("MatMul", [norm(x), "qkv_w"]), "qkv_shape"])], {
    perm: [2, 0, 3, 1, 4],
  });
  const [q, k, v] = ["zero", "i1", "i2"].map((i) => g.op("Gather", [qkv, i], { axis: 0 })) as [string, string, string];
  inputs.push(w("proj_w", [4, 4]), c("sqrt_d", [], [Math.SQRT2]), i64("merged_shape", [2, 5, 4]));
  const scores = g.op("Div", [g.op("MatMul", [q, g.op("Transpose", [k], { perm: [0, 1, 3, 2] })]), "sqrt_d"]);
  const ctx = g.op("MatMul", [g.op("Softmax", [scores], { axis: -1 }), v]);
  const merged = g.op("Reshape", [g.op("Transpose", [ctx], { perm: [0, 2, 1, 3] }), "merged_shape"]);
  const y = g.op("Add", [g.op("MatMul", [merged, "proj_w"]), x]);
  inputs.push(w("head_w", [3, 4]));
  const logits = g.op("MatMul", [g.op("ReduceMean", [y], { axes: [1], keepdims: 0 }), g.op("Transpose", ["head_w"])]);
  return {
    label: "ViT block, timm style (qkv unbind by Gather, mean pooling)",
    nodes: g.list,
    inputs,
    outputs: [logits],
    opset: 17,
    dtype: "float32",
  };
}

function dynamoViT(): GraphCheckCase {
  const g = new Nodes();
  const inputs: Inputs = [];
  const x = embed(g, inputs);
  inputs.push(w("ln_w", [4], [0.5, 1.5]), w("ln_b", [4]), w("qkv_w", [4, 12]), w("qkv_b", [12]));
  inputs.push(c("two", [], [2]), c("eps", [], [1e-5]), i64("last", [-1]), i64("axis1", [1]));
  // LayerNorm decomposed: (x - mean) / sqrt(var + eps) * w + b, ReduceMean with axes as input (opset 18)
  const norm = (t: string) => {
    const centered = g.op("Sub", [t, g.op("ReduceMean", [t, "last"])]);
    const variance = g.op("ReduceMean", [g.op("Pow", [centered, "two"]), "last"]);
    const normed = g.op("Div", [centered, g.op("Sqrt", [g.op("Add", [variance, "eps"])])]);
    return g.op("Add", [g.op("Mul", [normed, "ln_w"]), "ln_b"]);
  };
  const [q, k, v] = g.add(
    "Split",
    [g.op("Add", [g.op("MatMul", [norm(x), "qkv_w"]), "qkv_b"])],
    { axis: -1, num_outputs: 3 },
    3,
  ) as [string, string, string];
  const y = attention(g, inputs, q, k, v, x);
  const cls = (t: string) => g.op("Squeeze", [g.op("Slice", [t, "zero1", "one", "axis1"]), "axis1"]);
  inputs.push(i64("zero1", [0]));
  const logits = mlpAndHead(g, inputs, y, norm, cls);
  return {
    label: "ViT block, dynamo style (opset 18)",
    nodes: g.list,
    inputs,
    outputs: [logits],
    opset: 18,
    dtype: "float32",
  };
}

function mobileNetBlock(): GraphCheckCase {
  const g = new Nodes();
  const inputs: Inputs = [w("img", [2, 2, 5, 5], [-1, 1]), c("zero6", [], [0]), c("six", [], [6])];
  const bn = (t: string, ch: number, p: string) => {
    inputs.push(
      w(`${p}_g`, [ch], [0.5, 1.5]),
      w(`${p}_b`, [ch]),
      c(
        `${p}_mean`,
        [ch],
        Array.from({ length: ch }, (_, i) => 0.1 * i),
      ),
      c(
        `${p}_var`,
        [ch],
        Array.from({ length: ch }, (_, i) => 0.5 + 0.2 * i),
      ),
    );
    return g.op("BatchNormalization", [t, `${p}_g`, `${p}_b`, `${p}_mean`, `${p}_var`], { epsilon: float(1e-5) });
  };
  const relu6 = (t: string) => g.op("Clip", [t, "zero6", "six"]);
  inputs.push(
    w("expand_w", [6, 2, 1, 1], [-1, 1]),
    w("dw_w", [6, 1, 3, 3], [-1, 1]),
    w("project_w", [2, 6, 1, 1]),
    w("fc_w", [3, 2]),
    w("fc_b", [3]),
  );
  const expanded = relu6(bn(g.op("Conv", ["img", "expand_w"]), 6, "bn1"));
  const depthwise = relu6(
    bn(g.op("Conv", [expanded, "dw_w"], { group: 6, pads: [1, 1, 1, 1], strides: [1, 1] }), 6, "bn2"),
  );
  const projected = bn(g.op("Conv", [depthwise, "project_w"]), 2, "bn3");
  const pooled = g.op("Flatten", [g.op("GlobalAveragePool", [g.op("Add", [projected, "img"])])]);
  const logits = g.op("Gemm", [pooled, "fc_w", "fc_b"], { transB: 1 });
  return {
    label: "MobileNetV2 inverted residual",
    nodes: g.list,
    inputs,
    outputs: [logits],
    opset: 17,
    dtype: "float32",
  };
}

// A deep float32 graph has a large third derivative along v (the error of the central difference falls as
// step^2: measured 2.8e-3, 7.0e-4, 1.6e-4, 4.0e-5 at steps 8, 4, 2, 1e-3), so a smaller step and m3 = 1000.
const deep = { step: 1e-3, m3: 1000 };

describe("gradients of model blocks as PyTorch exports them", () => {
  for (const make of [torchScriptViT, timmViT, dynamoViT, mobileNetBlock]) {
    it(`${make().label}, shapes inferred from the inputs`, () => checkGraphGradient({ ...make(), ...deep }));
    it(`${make().label}, shapes from a probe run`, () => checkGraphGradient({ ...make(), ...deep, shapes: "probe" }));
  }
});
