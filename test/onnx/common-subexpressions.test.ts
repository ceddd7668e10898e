import { expect } from "chai";
import * as ort from "onnxruntime-node";
import { GraphBuilder } from "../../src/onnx/builder.js";
import { eliminateCommonSubexpressions } from "../../src/onnx/common-subexpressions.js";
import { makeAttributes } from "../../src/onnx/attributes.js";
import {
  encodeModel,
  newGraph,
  newModel,
  newOpset,
  newTensorValueInfo,
  type GraphProto,
} from "../../src/onnx/proto.js";
import { float32, int64, zeros } from "../../src/onnx/tensor.js";

/** x [2,3] -> two copies of mean(x) over axis 1 (each with its own axes constant), each subtracted from x. */
function twoCopies(): { g: GraphProto; b: GraphBuilder } {
  const g = newGraph({ name: "g" });
  const b = new GraphBuilder(g);
  b.addInput("x", "float32", [2, 3]);
  const copy = (k: number) => {
    const axes = b.constant(`axes_${k}`, int64([1], [1]));
    const mean = b.op("ReduceMean", ["x", axes], { keepdims: 1 }, `mean_${k}`);
    return b.op("Sub", ["x", mean], undefined, `centred_${k}`);
  };
  const [a, c] = [copy(0), copy(1)];
  b.node("Add", [a, c], { outputs: ["y"] });
  b.addOutput("y", "float32", [2, 3]);
  g.valueInfo.push(newTensorValueInfo(c!, 1, [2, 3]));
  return { g, b };
}

const run = async (g: GraphProto, x: Float32Array) => {
  const s = await ort.InferenceSession.create(
    encodeModel(newModel({ irVersion: 8n, opsetImport: [newOpset("", 18)], graph: g })),
  );
  const out = await s.run({ x: new ort.Tensor("float32", x, [2, 3]) });
  return Array.from(out[g.output[0]!.name]!.data as Float32Array);
};

describe("onnx/common-subexpressions", () => {
  it("merges equal small constants, then the nodes that repeat each other; the result is unchanged", async () => {
    const x = Float32Array.of(1, 2, 6, -1, 0, 4);
    const before = twoCopies().g;
    const expected = await run(before, x);
    const { g } = twoCopies();
    expect(eliminateCommonSubexpressions(g)).to.deep.equal({ nodes: 2, initializers: 1 });
    expect(g.node.map((n) => n.name)).to.deep.equal(["mean_0", "centred_0", "Add"]);
    expect(g.node[2]!.input).to.deep.equal(["centred_0", "centred_0"]);
    expect(g.initializer.map((t) => t.name)).to.deep.equal(["axes_0"]);
    expect(g.valueInfo).to.have.length(0);
    expect(await run(g, x)).to.deep.equal(expected);
  });

  it("keeps nodes whose attributes differ, random draws, graph outputs, and BatchNormalization's inputs 3 and 4", () => {
    const g = newGraph({ name: "g" });
    const b = new GraphBuilder(g);
    b.addInput("x", "float32", [2, 3]);
    b.op("ReduceSum", ["x"], { keepdims: 1 }, "sum_kept");
    b.op("ReduceSum", ["x"], { keepdims: 0 }, "sum_flat");
    b.op("RandomNormalLike", ["x"], { seed: 1 }, "noise_0");
    b.op("RandomNormalLike", ["x"], { seed: 1 }, "noise_1");
    b.node("Relu", ["x"], { outputs: ["out_0"] });
    b.node("Relu", ["x"], { outputs: ["out_1"] });
    const [m0, m1] = [0, 1].map((k) => b.constant(`stat_${k}`, zeros("float32", [3])));
    b.op("Identity", [m0!], undefined, "reads_stat_0");
    b.node("BatchNormalization", ["x", "scale", "bias", m1!, m1!], { outputs: ["bn", "rm", "rv"] });
    b.addOutput("out_0", "float32");
    b.addOutput("out_1", "float32");
    const before = g.node.map((n) => n.name);
    expect(eliminateCommonSubexpressions(g)).to.deep.equal({ nodes: 0, initializers: 0 });
    expect(g.node.map((n) => n.name)).to.deep.equal(before);
  });

  it("leaves subgraphs, and every name a subgraph reads, as they are", () => {
    const g = newGraph({ name: "g" });
    const b = new GraphBuilder(g);
    b.addInput("x", "float32", [1]);
    b.addInput("c", "bool", []);
    b.op("Neg", ["x"], undefined, "neg_0");
    b.op("Neg", ["x"], undefined, "neg_1");
    const branch = (read: string) => {
      const sg = newGraph({ name: `branch_${read}` });
      new GraphBuilder(sg).node("Identity", [read], { outputs: [`${read}_out`] });
      sg.output = [{ ...g.input[0]!, name: `${read}_out` }];
      return sg;
    };
    const ifNode = b.node("If", ["c"], { outputs: ["y"] });
    g.node.at(-1)!.attribute = makeAttributes({ then_branch: branch("neg_1"), else_branch: branch("neg_0") });
    expect(ifNode).to.deep.equal(["y"]);
    expect(eliminateCommonSubexpressions(g).nodes).to.equal(0);
    expect(g.node.map((n) => n.name)).to.deep.equal(["neg_0", "neg_1", "If"]);
  });

  it("does not merge large initializers (weights) even when equal", () => {
    const g = newGraph({ name: "g" });
    const b = new GraphBuilder(g);
    const [w0, w1] = [0, 1].map((k) => b.constant(`w_${k}`, float32([65], new Array<number>(65).fill(0.5))));
    b.op("Neg", [w0!], undefined, "neg_0");
    b.op("Neg", [w1!], undefined, "neg_1");
    expect(eliminateCommonSubexpressions(g)).to.deep.equal({ nodes: 0, initializers: 0 });
  });
});
