import { expect } from "chai";
import * as ort from "onnxruntime-node";
import { appendBackward } from "../../src/autograd/engine.js";
import { RULES } from "../../src/autograd/ops.js";
import type { GradRule } from "../../src/autograd/rule.js";
import { UserError } from "../../src/errors.js";
import { float } from "../../src/onnx/attributes.js";
import { GraphBuilder } from "../../src/onnx/builder.js";
import {
  encodeModel,
  newGraph,
  newModel,
  newOpset,
  newTensorValueInfo,
  type GraphProto,
} from "../../src/onnx/proto.js";
import { float32, int64, onnxFromDtype } from "../../src/onnx/tensor.js";
import { checkGradient } from "../helpers/gradcheck.js";

const FLOAT = onnxFromDtype("float32");

/** x [2,3] -> a = x*x, b = exp(x), c = a + b, loss = ReduceSum(c * u); also an unused branch Relu(x). */
function fanOutGraph(): { graph: GraphProto; u: number[] } {
  const graph = newGraph({ name: "g" });
  const b = new GraphBuilder(graph);
  b.addInput("x", "float32", [2, 3]);
  const u = [0.5, -1, 2, 0.25, 1.5, -0.75];
  const uName = b.initializer("u", float32([2, 3], u));
  const a = b.op("Mul", ["x", "x"], {}, "square");
  const e = b.op("Exp", ["x"], {}, "exp");
  const c = b.op("Add", [a, e], {}, "add");
  b.op("Relu", ["x"], {}, "unused_relu");
  const p = b.op("Mul", [c, uName], {}, "project");
  b.node("ReduceSum", [p], { name: "loss", outputs: ["loss"], attrs: { keepdims: 0 } });
  return { graph, u };
}

async function run(graph: GraphProto, feeds: Record<string, ort.Tensor>, opset = 17) {
  const model = newModel({ irVersion: 9n, opsetImport: [newOpset("", opset)], graph });
  const s = await ort.InferenceSession.create(encodeModel(model), { logSeverityLevel: 3 });
  return s.run(feeds);
}

const userError = (f: () => unknown): UserError => {
  try {
    f();
  } catch (e) {
    expect(e).to.be.instanceOf(UserError);
    return e as UserError;
  }
  throw new Error("expected a UserError");
};

describe("autograd engine", () => {
  it("sums fan-out gradients and matches the analytic gradient", async () => {
    const { graph, u } = fanOutGraph();
    const grads = appendBackward(graph, { loss: "loss", wrt: ["x"], opset: 17 });
    expect(grads.get("x")).to.equal("x/grad");
    graph.output.push(newTensorValueInfo("x/grad", FLOAT, [2, 3]));
    const x = [0.1, -0.4, 0.7, 1.2, -1.1, 0.3];
    const out = await run(graph, { x: new ort.Tensor("float32", Float32Array.from(x), [2, 3]) });
    const got = Array.from(out["x/grad"]!.data as Float32Array);
    const want = x.map((v, i) => u[i]! * (2 * v + Math.exp(v)));
    got.forEach((g, i) => expect(g).to.be.closeTo(want[i]!, 1e-5 * (1 + Math.abs(want[i]!))));
    expect(graph.node.filter((n) => n.name === "x/grad/Sum")).to.have.length(1);
  });

  it("gives gradients of intermediate values too", async () => {
    const graph = newGraph({ name: "g" });
    const b = new GraphBuilder(graph);
    b.addInput("x", "float32", [3]);
    const a = b.op("Exp", ["x"], {}, "a");
    b.node("ReduceSum", [b.op("Mul", [a, a], {}, "sq")], { name: "loss", outputs: ["loss"], attrs: { keepdims: 0 } });
    const grads = appendBackward(graph, { loss: "loss", wrt: ["a", "x"], opset: 17 });
    graph.output.push(newTensorValueInfo(grads.get("a")!, FLOAT, [3]), newTensorValueInfo(grads.get("x")!, FLOAT, [3]));
    const x = [0.5, -1, 0.25];
    const out = await run(graph, { x: new ort.Tensor("float32", Float32Array.from(x), [3]) });
    x.forEach((v, i) => {
      expect((out[grads.get("a")!]!.data as Float32Array)[i]).to.be.closeTo(2 * Math.exp(v), 1e-5);
      expect((out[grads.get("x")!]!.data as Float32Array)[i]).to.be.closeTo(2 * Math.exp(2 * v), 1e-5);
    });
  });

  it("differentiates only what the loss needs, reusing forward activations", () => {
    const { graph } = fanOutGraph();
    const before = graph.node.length;
    appendBackward(graph, { loss: "loss", wrt: ["x"], opset: 17 });
    const added = graph.node.slice(before);
    expect(added.some((n) => n.name.startsWith("unused_relu"))).to.equal(false);
    expect(
      added.some((n) => n.opType === "Exp"),
      "Exp is not recomputed: its output is reused",
    ).to.equal(false);
    expect(added.map((n) => n.name).every((name) => /\/grad(\/|$)/.test(name))).to.equal(true);
  });

  it("names generated nodes deterministically", () => {
    const names = () => {
      const { graph } = fanOutGraph();
      appendBackward(graph, { loss: "loss", wrt: ["x"], opset: 17 });
      return graph.node.map((n) => `${n.name}:${n.opType}:${n.input.join(",")}`);
    };
    expect(names()).to.deep.equal(names());
    expect(names()).to.include.members([
      "exp/grad/Mul:Mul:project/grad/Mul,exp",
      "x/grad/Sum:Sum:exp/grad/Mul,square/grad/Mul,square/grad/Mul_1",
    ]);
  });

  it("never sends gradients down integer paths (shape arithmetic)", () => {
    const graph = newGraph({ name: "g" });
    const b = new GraphBuilder(graph);
    b.addInput("x", "float32", [2, 3]);
    const shape = b.op("Shape", ["x"], {}, "shape");
    const n = b.op("Gather", [shape, b.initializer("zero", int64([1], [0]))], { axis: 0 }, "batch");
    const target = b.op("Concat", [n, b.initializer("minus1", int64([1], [-1]))], { axis: 0 }, "target");
    const r = b.op("Reshape", ["x", target], {}, "flat");
    b.node("ReduceSum", [b.op("Mul", [r, r], {}, "sq")], { name: "loss", outputs: ["loss"], attrs: { keepdims: 0 } });
    const before = graph.node.length;
    appendBackward(graph, { loss: "loss", wrt: ["x"], opset: 17 });
    const added = graph.node.slice(before).map((n) => n.name);
    expect(added.filter((name) => /^(shape|batch|target)\//.test(name))).to.deep.equal([]);
  });

  it("reads constants from Constant nodes in every attribute form (dynamo's value_ints, value_float)", async () => {
    const graph = newGraph({ name: "g" });
    const b = new GraphBuilder(graph);
    b.addInput("x", "float32", [2, 3, 4]);
    const axes = b.op("Constant", [], { value_ints: [1] }, "axes");
    const flat = b.op("Constant", [], { value_ints: [-1] }, "flat");
    const two = b.op("Constant", [], { value_float: float(2) }, "two");
    const r = b.op("Reshape", [b.op("ReduceSum", ["x", axes], { keepdims: 0 }, "sum1"), flat], {}, "reshape");
    b.node("ReduceSum", [b.op("Mul", [r, two], {}, "double")], {
      name: "loss",
      outputs: ["loss"],
      attrs: { keepdims: 0 },
    });
    const grads = appendBackward(graph, { loss: "loss", wrt: ["x"], opset: 13 });
    graph.output.push(newTensorValueInfo(grads.get("x")!, FLOAT, [2, 3, 4]));
    expect(
      graph.node.filter((n) => n.opType === "Shape"),
      "static shapes: no runtime Shape",
    ).to.have.length(0);
    const out = await run(graph, { x: new ort.Tensor("float32", new Float32Array(24).fill(0.5), [2, 3, 4]) }, 13);
    expect(Array.from(out[grads.get("x")!]!.data as Float32Array)).to.deep.equal(new Array(24).fill(2));
  });

  it("keeps static paths with a symbolic batch dim (Slice's gradient is a Pad, not a scatter)", async () => {
    const graph = newGraph({ name: "g" });
    const b = new GraphBuilder(graph);
    b.addInput("x", "float32", ["N", 5]);
    const ints = (name: string, v: number[]) => b.initializer(name, int64([v.length], v));
    const sliced = b.op("Slice", ["x", ints("starts", [1]), ints("ends", [3]), ints("axes", [1])], {}, "cols");
    b.node("ReduceSum", [sliced], { name: "loss", outputs: ["loss"], attrs: { keepdims: 0 } });
    const grads = appendBackward(graph, { loss: "loss", wrt: ["x"], opset: 17 });
    expect(graph.node.map((n) => n.opType))
      .to.include("Pad")
      .and.not.include("ScatterElements");
    graph.output.push(newTensorValueInfo(grads.get("x")!, FLOAT, ["N", 5]));
    const out = await run(graph, { x: new ort.Tensor("float32", new Float32Array(10), [2, 5]) });
    expect(Array.from(out[grads.get("x")!]!.data as Float32Array)).to.deep.equal([0, 1, 1, 0, 0, 0, 1, 1, 0, 0]);
  });

  it("reports each broadcast gradient in its input's shape, with and without static shapes", async () => {
    await checkGradient({ op: "Mul", inputs: [{ dims: [4, 1, 3] }, { dims: [2, 1] }] });
    await checkGradient({ op: "Mul", shapes: "runtime", inputs: [{ dims: [4, 1, 3] }, { dims: [2, 1] }] });
  });

  it("drops a broadcast over size-1 axes with a Reshape, not a ReduceSum", async () => {
    await checkGradient({ op: "MatMul", inputs: [{ dims: [6, 3] }, { dims: [1, 3, 2] }] });
    const graph = newGraph({ name: "g" });
    const b = new GraphBuilder(graph);
    b.addInput("a", "float32", [6, 3]);
    const y = b.op("MatMul", ["a", b.constant("m", float32([1, 3, 2], [1, 2, 3, 4, 5, 6]))]);
    b.node("ReduceSum", [y], { name: "loss", outputs: ["loss"], attrs: { keepdims: 0 } });
    appendBackward(graph, {
      loss: "loss",
      wrt: ["a"],
      opset: 17,
      shapes: new Map([
        ["a", [6, 3]],
        [y, [1, 6, 2]],
      ]),
    });
    expect(graph.node.filter((n) => n.opType === "ReduceSum").map((n) => n.name)).to.deep.equal(["loss"]);
  });

  describe("the gradient check", () => {
    const swap = async (op: string, rule: GradRule, f: () => Promise<void>) => {
      const table = RULES as Record<string, GradRule>;
      const saved = table[op]!;
      table[op] = rule;
      try {
        await f();
      } finally {
        table[op] = saved;
      }
    };

    it("rejects a wrong rule", async () => {
      // wrong: dA = dY (forgets the factor B)
      const wrong: GradRule = { broadcast: true, grad: (c) => [c.GO(0), c.op("Mul", [c.GO(0)!, c.I(0)])] };
      await swap("Mul", wrong, async () => {
        let failed = false;
        await checkGradient({ op: "Mul", inputs: [{ dims: [2, 3] }, { dims: [2, 3] }] }).catch(() => (failed = true));
        expect(failed).to.equal(true);
      });
    });

    it("catches a gradient of the wrong shape statically, naming the node", async () => {
      // wrong: forgets to undo the transpose
      const wrong: GradRule = { grad: (c) => [c.GO(0)] };
      await swap("Transpose", wrong, async () => {
        const err = await checkGradient({ op: "Transpose", attrs: { perm: [1, 0] }, inputs: [{ dims: [2, 3] }] }).then(
          () => undefined,
          (e: Error) => e,
        );
        expect(err?.message).to.match(
          /gradient rule Transpose of node 'transpose' returned shape \[3,2\] for input 'x0' of shape \[2,3\]/,
        );
      });
    });
  });

  describe("bad input", () => {
    it("an op without a rule: names op, node, opset and the supported ops", () => {
      const graph = newGraph({ name: "g" });
      const b = new GraphBuilder(graph);
      b.addInput("x", "float32", [3]);
      const y = b.op("Acosh", ["x"], {}, "blocks.0/Acosh");
      b.node("ReduceSum", [y], { name: "loss", outputs: ["loss"], attrs: { keepdims: 0 } });
      const e = userError(() => appendBackward(graph, { loss: "loss", wrt: ["x"], opset: 17 }));
      expect(e.message).to.match(
        /^No gradient rule for op 'Acosh' \(node 'blocks\.0\/Acosh', opset 17\); supported: Abs, Add, .*Where$/,
      );
    });

    it("an op of another domain, and every unsupported node listed once", () => {
      const graph = newGraph({ name: "g" });
      const b = new GraphBuilder(graph);
      b.addInput("x", "float32", [3]);
      const y = b.op("FusedGelu", ["x"], {}, "fused");
      graph.node.at(-1)!.domain = "com.microsoft";
      const z = b.op("Acosh", [y], {}, "acosh");
      b.node("ReduceSum", [z], { name: "loss", outputs: ["loss"], attrs: { keepdims: 0 } });
      const e = userError(() => appendBackward(graph, { loss: "loss", wrt: ["x"], opset: 17 }));
      expect(e.message).to.match(
        /^No gradient rule for op 'Acosh' \(node 'acosh', opset 17\), op 'com\.microsoft\.FusedGelu' \(node 'fused', opset 17\); supported: /,
      );
    });

    it("a broadcast without static shapes before opset 13", () => {
      const graph = newGraph({ name: "g" });
      const b = new GraphBuilder(graph);
      b.addInput("x", "float32");
      b.addInput("y", "float32");
      b.node("ReduceSum", [b.op("Add", ["x", "y"], {}, "sum")], {
        name: "loss",
        outputs: ["loss"],
        attrs: { keepdims: 0 },
      });
      const e = userError(() => appendBackward(graph, { loss: "loss", wrt: ["x"], opset: 11 }));
      expect(e.message).to.equal(
        "node 'sum' (Add): cannot reduce a broadcast gradient without static shapes at opset 11 (needs opset >= 13 or known shapes)",
      );
    });

    it("a wrt the loss does not reach, through floats or at all", () => {
      const graph = newGraph({ name: "g" });
      const b = new GraphBuilder(graph);
      b.addInput("x", "float32", [3]);
      b.addInput("w", "float32", [3]);
      b.addInput("v", "float32", [3]);
      const idx = b.op("Cast", ["w"], { to: onnxFromDtype("int64") }, "to_int");
      const picked = b.op(
        "Gather",
        [
          "x",
          b.op("Clip", [idx, b.initializer("lo", int64([], [0])), b.initializer("hi", int64([], [2]))], {}, "clip"),
        ],
        {},
        "pick",
      );
      b.node("ReduceSum", [picked], { name: "loss", outputs: ["loss"], attrs: { keepdims: 0 } });
      const e = userError(() => appendBackward(graph, { loss: "loss", wrt: ["x", "w", "v"], opset: 17 }));
      expect(e.message).to.equal("backward: the loss 'loss' does not depend (through differentiable ops) on: w, v");
    });

    it("a non-float loss, an empty wrt, unknown and integer names: all listed at once", () => {
      const graph = newGraph({
        name: "g",
        input: [newTensorValueInfo("x", FLOAT, [3]), newTensorValueInfo("i", onnxFromDtype("int64"), [3])],
      });
      new GraphBuilder(graph).node("Shape", ["x"], { name: "s", outputs: ["s"] });
      const e = userError(() => appendBackward(graph, { loss: "s", wrt: ["nope", "i"], opset: 17 }));
      expect(e.message).to.equal(
        "backward: loss 's' is not a float value (element type INT64); 'nope' is not a value of the graph; 'i' is not a float value, it cannot have a gradient",
      );
      const e2 = userError(() => appendBackward(graph, { loss: "x", wrt: [], opset: 17 }));
      expect(e2.message).to.equal("backward: no float parameters to differentiate (wrt is empty)");
    });

    it("a non-scalar loss of known shape", () => {
      const graph = newGraph({ name: "g", input: [newTensorValueInfo("x", FLOAT, [3])] });
      new GraphBuilder(graph).node("Relu", ["x"], { name: "r", outputs: ["r"] });
      const e = userError(() => appendBackward(graph, { loss: "r", wrt: ["x"], opset: 17 }));
      expect(e.message).to.equal("backward: loss 'r' has shape [3], expected a scalar");
    });
  });
});
