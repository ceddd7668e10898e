import { expect } from "chai";
import { GraphBuilder } from "../../src/onnx/builder.js";
import { layerInventory, type Layer } from "../../src/onnx/layers.js";
import { loadModel } from "../../src/onnx/model-io.js";
import { newGraph, newModel, newOpset, type ModelProto } from "../../src/onnx/proto.js";
import { zeros } from "../../src/onnx/tensor.js";
import { float } from "../../src/onnx/attributes.js";

const DIR = "test/fixtures/pytorch";
const roles = (layers: Layer[], role: string) => layers.filter((l) => l.role === role).map((l) => l.name);

describe("onnx/layers: inventory of the PyTorch fixtures", () => {
  for (const m of ["resnet18w8_fmnist", "resnet18w8_tvstem"]) {
    for (const v of ["ts-eval", "ts-preserve", "dynamo"]) {
      it(`${m}.${v}: 1 classifier (fc), 3 shortcuts (layerN.0.downsample), 17 body convs`, () => {
        const inv = layerInventory(loadModel(`${DIR}/${m}.${v}.onnx`));
        expect(roles(inv.layers, "classifier")).to.deep.equal(["fc"]);
        expect(roles(inv.layers, "shortcut")).to.deep.equal([
          "layer2.0.downsample.0",
          "layer3.0.downsample.0",
          "layer4.0.downsample.0",
        ]);
        const body = inv.layers.filter((l) => l.role === "body");
        expect(body).to.have.length(17);
        expect(body.every((l) => l.op === "Conv" && l.reinit)).to.equal(true);
        expect(inv.layers.filter((l) => l.reinit)).to.have.length(17);
        expect(body[0]!.name).to.equal("conv1");
        expect(inv.opset).to.equal(v === "dynamo" ? 20 : 17);
        expect(inv.inputs.map((i) => i.name)).to.deep.equal(["input"]);
        expect(inv.outputs.map((o) => o.name)).to.deep.equal(["logits"]);
        // every weight is accounted for exactly once
        const params = inv.layers.flatMap((l) => l.params.map((p) => p.name));
        expect(new Set(params).size).to.equal(params.length);
        if (v === "ts-preserve") {
          for (const l of inv.layers.filter((x) => x.op === "Conv")) {
            expect(l.nodes).to.have.length(2);
            expect(l.params.map((p) => p.kind)).to.deep.equal(["weight", "bn-scale", "bn-bias", "bn-mean", "bn-var"]);
            expect(l.params[1]!.name).to.equal(
              `${l.name
                .replace(/conv(\d)$/, "bn$1")
                .replace(/downsample\.0$/, "downsample.1")
                .replace(/^conv1$/, "bn1")}.weight`,
            );
          }
        }
      });
    }
  }

  it("gives PyTorch's fan-in and the kernel for re-initialisation", () => {
    const inv = layerInventory(loadModel(`${DIR}/resnet18w8_tvstem.ts-eval.onnx`));
    const conv1 = inv.layers.find((l) => l.name === "conv1")!;
    expect(conv1.params.map((p) => [p.kind, p.dims])).to.deep.equal([
      ["weight", [8, 3, 7, 7]],
      ["bias", [8]],
    ]);
    expect([conv1.fanIn, conv1.fanOut, conv1.kernelShape, conv1.groups]).to.deep.equal([3 * 49, 8 * 49, [7, 7], 1]);
    const fc = inv.layers.find((l) => l.name === "fc")!;
    expect([fc.op, fc.fanIn, fc.fanOut]).to.deep.equal(["Gemm", 64, 10]);
  });
});

// ---- synthetic graphs of other architectures, built with the same primitives exporters use ----

function model(build: (b: GraphBuilder) => void): ModelProto {
  const b = new GraphBuilder(newGraph({ name: "g" }));
  build(b);
  return newModel({ irVersion: 8n, opsetImport: [newOpset("", 17)], graph: b.graph });
}

function convBn(
  b: GraphBuilder,
  name: string,
  x: string,
  cin: number,
  cout: number,
  k: number,
  opts: { group?: number; stride?: number } = {},
): string {
  const group = opts.group ?? 1;
  const w = b.initializer(`${name}.weight`, zeros("float32", [cout, cin / group, k, k]));
  const s = opts.stride ?? 1;
  const y = b.op(
    "Conv",
    [x, w],
    { kernel_shape: [k, k], group, strides: [s, s], pads: Array(4).fill((k - 1) / 2) },
    `/${name}/Conv`,
  );
  const bn = name.replace(/conv(\d*)$/, "bn$1");
  const p = ["weight", "bias", "running_mean", "running_var"].map((s2) =>
    b.initializer(`${bn}.${s2}`, zeros("float32", [cout])),
  );
  return b.op("BatchNormalization", [y, ...p], {}, `/${bn}/BatchNormalization`);
}

const relu6 = (b: GraphBuilder, x: string) =>
  b.op("Clip", [
    x,
    b.constant("min", zeros("float32", [])),
    b.constant("max", { dtype: "float32", dims: [], data: Float32Array.of(6) }),
  ]);

function head(b: GraphBuilder, x: string, c: number, classes = 10): void {
  const pooled = b.op("GlobalAveragePool", [x]);
  const flat = b.op("Flatten", [pooled], { axis: 1 });
  b.node(
    "Gemm",
    [
      flat,
      b.initializer("classifier.1.weight", zeros("float32", [classes, c])),
      b.initializer("classifier.1.bias", zeros("float32", [classes])),
    ],
    { outputs: ["logits"], attrs: { transB: 1 } },
  );
  b.addOutput("logits", "float32", ["N", classes]);
}

describe("onnx/layers: structure detection beyond ResNet", () => {
  it("MobileNetV2-style: depthwise convs, Clip (ReLU6), inverted residual with identity skip -> no shortcut", () => {
    const inv = layerInventory(
      model((b) => {
        b.addInput("input", "float32", ["N", 3, 32, 32]);
        const stem = relu6(b, convBn(b, "features.0.conv", "input", 3, 16, 3, { stride: 2 }));
        const e = relu6(b, convBn(b, "features.1.expand.conv", stem, 16, 96, 1));
        const d = relu6(b, convBn(b, "features.1.dw.conv", e, 96, 96, 3, { group: 96 }));
        const p = convBn(b, "features.1.project.conv", d, 96, 16, 1);
        const added = b.op("Add", [stem, p]);
        head(b, added, 16);
      }),
    );
    expect(inv.layers.map((l) => [l.name, l.role])).to.deep.equal([
      ["features.0.conv", "body"],
      ["features.1.expand.conv", "body"],
      ["features.1.dw.conv", "body"],
      ["features.1.project.conv", "body"],
      ["classifier.1", "classifier"],
    ]);
    const dw = inv.layers[2]!;
    expect([dw.groups, dw.fanIn, dw.fanOut, dw.kernelShape]).to.deep.equal([96, 9, 96 * 9, [3, 3]]);
  });

  it("MobileNetV2-style: the projection conv whose output is the next block's identity skip stays body", () => {
    // features.1 has no residual (channels change); features.2 adds its input (features.1's projection) back,
    // so features.1.project.conv feeds both the Add and, through features.2's three convs, the Add's other operand
    const inv = layerInventory(
      model((b) => {
        b.addInput("input", "float32", ["N", 3, 32, 32]);
        const stem = relu6(b, convBn(b, "features.0.conv", "input", 3, 16, 3, { stride: 2 }));
        const block = (name: string, x: string, cin: number, cout: number) => {
          const e = relu6(b, convBn(b, `${name}.expand.conv`, x, cin, 6 * cin, 1));
          const d = relu6(b, convBn(b, `${name}.dw.conv`, e, 6 * cin, 6 * cin, 3, { group: 6 * cin }));
          return convBn(b, `${name}.project.conv`, d, 6 * cin, cout, 1);
        };
        const p1 = block("features.1", stem, 16, 24);
        const p2 = block("features.2", p1, 24, 24);
        head(b, b.op("Add", [p1, p2]), 24);
      }),
    );
    expect(roles(inv.layers, "shortcut")).to.deep.equal([]);
    expect(roles(inv.layers, "body")).to.include.members(["features.1.project.conv", "features.2.project.conv"]);
    expect(roles(inv.layers, "body")).to.have.length(7);
  });

  it("ResNet-D-style: an AvgPool + 1x1 conv + BN projection is a shortcut; identity blocks have none", () => {
    const inv = layerInventory(
      model((b) => {
        b.addInput("input", "float32", ["N", 8, 16, 16]);
        const x = b.op("Relu", [convBn(b, "stem.conv", "input", 8, 8, 3)]);
        const m1 = b.op("Relu", [convBn(b, "block1.conv1", x, 8, 8, 3)]);
        const y1 = b.op("Relu", [b.op("Add", [convBn(b, "block1.conv2", m1, 8, 8, 3), x])]);
        const m2 = b.op("Relu", [convBn(b, "block2.conv1", y1, 8, 16, 3, { stride: 2 })]);
        const main = convBn(b, "block2.conv2", m2, 16, 16, 3);
        const pooled = b.op("AveragePool", [y1], { kernel_shape: [2, 2], strides: [2, 2] });
        const skip = convBn(b, "block2.down.conv", pooled, 8, 16, 1);
        head(b, b.op("Relu", [b.op("Add", [main, skip])]), 16);
      }),
    );
    expect(roles(inv.layers, "shortcut")).to.deep.equal(["block2.down.conv"]);
    expect(roles(inv.layers, "body")).to.have.length(5);
  });

  it("transformer block: MatMul + bias Add layers, LayerNormalization layers (body), attention MatMuls are not layers", () => {
    const D = 16;
    const inv = layerInventory(
      model((b) => {
        b.addInput("tokens", "float32", ["N", 5, D]);
        const lin = (name: string, x: string, i: number, o: number) =>
          b.op("Add", [
            b.op(
              "MatMul",
              [x, b.initializer(`onnx::MatMul_${name}`, zeros("float32", [i, o]))],
              {},
              `/${name.replace(/\./g, "/")}/MatMul`,
            ),
            b.initializer(`${name}.bias`, zeros("float32", [o])),
          ]);
        const ln = (name: string, x: string) =>
          b.op(
            "LayerNormalization",
            [
              x,
              b.initializer(`${name}.weight`, zeros("float32", [D])),
              b.initializer(`${name}.bias`, zeros("float32", [D])),
            ],
            { axis: -1, epsilon: float(1e-5) },
          );
        const h = ln("blocks.0.norm1", "tokens");
        const q = lin("blocks.0.attn.q", h, D, D);
        const k = lin("blocks.0.attn.k", h, D, D);
        const v = lin("blocks.0.attn.v", h, D, D);
        const att = b.op("Softmax", [b.op("MatMul", [q, b.op("Transpose", [k], { perm: [0, 2, 1] })])], { axis: -1 });
        const x1 = b.op("Add", ["tokens", lin("blocks.0.attn.proj", b.op("MatMul", [att, v]), D, D)]);
        const mlp = lin(
          "blocks.0.mlp.fc2",
          b.op("Relu", [lin("blocks.0.mlp.fc1", ln("blocks.0.norm2", x1), D, 4 * D)]),
          4 * D,
          D,
        );
        const x2 = b.op("Add", [x1, mlp]);
        const cls = b.op(
          "Gather",
          [ln("norm", x2), b.constant("zero", { dtype: "int64", dims: [], data: BigInt64Array.of(0n) })],
          { axis: 1 },
        );
        const logits = lin("head", cls, D, 10);
        b.node("Identity", [logits], { outputs: ["logits"] });
        b.addOutput("logits", "float32", ["N", 10]);
      }),
    );
    expect(inv.layers.map((l) => [l.name, l.op, l.role])).to.deep.equal([
      ["blocks.0.norm1", "LayerNormalization", "body"],
      ["blocks.0.attn.q", "MatMul", "body"],
      ["blocks.0.attn.k", "MatMul", "body"],
      ["blocks.0.attn.v", "MatMul", "body"],
      ["blocks.0.attn.proj", "MatMul", "body"],
      ["blocks.0.norm2", "LayerNormalization", "body"],
      ["blocks.0.mlp.fc1", "MatMul", "body"],
      ["blocks.0.mlp.fc2", "MatMul", "body"],
      ["norm", "LayerNormalization", "body"],
      ["head", "MatMul", "classifier"],
    ]);
    const fc1 = inv.layers[6]!;
    expect(fc1.params.map((p) => p.kind)).to.deep.equal(["weight", "bias"]);
    expect([fc1.fanIn, fc1.fanOut, fc1.nodes.length]).to.deep.equal([D, 4 * D, 2]);
    expect(inv.layers[0]!.params.map((p) => p.kind)).to.deep.equal(["norm-scale", "norm-bias"]);
  });

  it("reinitRoles chooses which roles are re-initialisation candidates", () => {
    const inv = layerInventory(loadModel(`${DIR}/resnet18w8_fmnist.dynamo.onnx`), {
      reinitRoles: ["body", "shortcut"],
    });
    expect(inv.layers.filter((l) => l.reinit)).to.have.length(20);
  });
});
