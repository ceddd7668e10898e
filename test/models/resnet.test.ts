import { expect } from "chai";
import * as ort from "onnxruntime-node";
import { buildZooModel } from "../../src/models/index.js";
import { buildResNet18 } from "../../src/models/resnet.js";
import { loadModel, readInitializers } from "../../src/onnx/model-io.js";
import { encodeModel, valueInfoDims, type ModelProto } from "../../src/onnx/proto.js";
import { readTensor, writeTensorData } from "../../src/onnx/tensor.js";
import { UserError } from "../../src/errors.js";
import { normalSampler, seededRandom } from "../../src/models/init.js";

const FIXTURES = "test/fixtures/pytorch";

function signature(m: ModelProto) {
  const g = m.graph!;
  return {
    opset: m.opsetImport.map((o) => `${o.domain}:${o.version}`),
    inputs: g.input.map((v) => [v.name, valueInfoDims(v)]),
    outputs: g.output.map((v) => [v.name, valueInfoDims(v)]),
    initializers: g.initializer.map((t) => `${t.name} [${t.dims.join(",")}]`),
    nodes: g.node.map(
      (n) =>
        `${n.opType} ${n.name} (${n.input.join(",")}) -> ${n.output.join(",")} ` +
        n.attribute.map((a) => `${a.name}=${a.i}|${Math.fround(a.f)}|${a.ints.join(",")}`).join(" "),
    ),
  };
}

async function logits(model: ModelProto, input: Float32Array, dims: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(encodeModel(model));
  try {
    const out = await session.run({ input: new ort.Tensor("float32", input, dims) });
    return out.logits!.data as Float32Array;
  } finally {
    await session.release();
  }
}

describe("models/resnet18", () => {
  const cases = [
    { fixture: "resnet18w8_fmnist", opts: { width: 8, channels: 1, imageSize: 28, stem: "small" as const } },
    { fixture: "resnet18w8_tvstem", opts: { width: 8, channels: 3, imageSize: 32, stem: "torchvision" as const } },
  ];
  for (const c of cases) {
    it(`has the structure of PyTorch's ts-preserve export (${c.fixture})`, () => {
      const fixture = loadModel(`${FIXTURES}/${c.fixture}.ts-preserve.onnx`).proto;
      expect(signature(buildResNet18(c.opts))).to.deep.equal(signature(fixture));
    });

    it(`reproduces the fixture's logits with the fixture's weights (${c.fixture})`, async () => {
      const fixture = loadModel(`${FIXTURES}/${c.fixture}.ts-preserve.onnx`);
      const weights = readInitializers(fixture);
      const model = buildResNet18({ ...c.opts, seed: 7 });
      for (const t of model.graph!.initializer) writeTensorData(t, weights.get(t.name)!);
      const dims = [5, c.opts.channels, c.opts.imageSize, c.opts.imageSize];
      const normal = normalSampler(seededRandom(11));
      const input = Float32Array.from({ length: dims.reduce((a, b) => a * b) }, normal);
      const [ours, theirs] = [await logits(model, input, dims), await logits(fixture.proto, input, dims)];
      // Same graph, same weights, same runtime: identical up to kernel choice (none here), so bit-equal.
      expect(Array.from(ours)).to.deep.equal(Array.from(theirs));
    });
  }

  it("uses torchvision's initialisation", () => {
    const model = buildZooModel("resnet18", { seed: 3 });
    const t = (name: string) => readTensor(model.graph!.initializer.find((x) => x.name === name)!).data as Float32Array;
    const std = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
    // kaiming_normal_(fan_out, relu): std = sqrt(2 / (out * kh * kw)); 64*3*49 = 9408 draws -> ~1% spread
    const conv1 = t("conv1.weight");
    expect(std(conv1)).to.be.closeTo(Math.sqrt(2 / (64 * 49)), 0.05 * Math.sqrt(2 / (64 * 49)));
    const l4 = t("layer4.1.conv2.weight");
    expect(std(l4)).to.be.closeTo(Math.sqrt(2 / (512 * 9)), 0.01 * Math.sqrt(2 / (512 * 9)));
    const bound = 1 / Math.sqrt(512);
    for (const name of ["fc.weight", "fc.bias"]) {
      const v = t(name);
      expect(Math.max(...v.map(Math.abs)))
        .to.be.at.most(bound)
        .and.above(0.9 * bound);
    }
    expect(Array.from(t("bn1.weight"))).to.deep.equal(new Array(64).fill(1));
    expect(Array.from(t("layer2.0.downsample.1.running_var"))).to.deep.equal(new Array(128).fill(1));
    expect(Array.from(t("layer2.0.downsample.1.bias"))).to.deep.equal(new Array(128).fill(0));
    expect(model.graph!.initializer.length).to.equal(102);
  });

  it("is reproducible from its seed and differs between seeds", () => {
    const bytes = (seed: number) => encodeModel(buildZooModel("resnet18w8", { seed, channels: 1 }));
    expect(bytes(1)).to.deep.equal(bytes(1));
    expect(bytes(1)).to.not.deep.equal(bytes(2));
  });

  it("rejects bad options, listing every problem", () => {
    expect(() => buildResNet18({ width: 0, channels: 2, stem: "big" as never })).to.throw(
      UserError,
      /width.*channels.*stem/,
    );
    expect(() => buildZooModel("vgg")).to.throw(UserError, /unknown zoo model 'vgg'; available: resnet18, resnet18w8/);
  });
});
