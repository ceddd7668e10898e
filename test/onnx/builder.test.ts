import { expect } from "chai";
import { GraphBuilder } from "../../src/onnx/builder.js";
import { newGraph } from "../../src/onnx/proto.js";

describe("GraphBuilder (onnx/builder)", () => {
  const chain = () => {
    const b = new GraphBuilder(newGraph({ name: "g" }));
    b.node("Relu", ["x"], { name: "a", outputs: ["ya"] });
    b.node("Neg", ["ya"], { name: "b", outputs: ["yb"] });
    b.node("Abs", ["yb"], { name: "c", outputs: ["yc"] });
    return b;
  };

  it("replaceNode puts the emitted nodes where the node stood", () => {
    const b = chain();
    const target = b.graph.node[1]!;
    const replaced = b.replaceNode(target, () => {
      const t = b.op("Sigmoid", ["ya"], undefined, "b1");
      b.node("Neg", [t], { name: "b2", outputs: ["yb"] });
    });
    expect(replaced).to.equal(true);
    expect(b.graph.node.map((n) => n.name)).to.deep.equal(["a", "b1", "b2", "c"]);
  });

  it("replaceNode emits nothing for a node that is not in the graph", () => {
    const b = chain();
    const gone = b.graph.node.splice(1, 1)[0]!;
    let called = false;
    expect(b.replaceNode(gone, () => (called = true))).to.equal(false);
    expect(called).to.equal(false);
    expect(b.graph.node.map((n) => n.name)).to.deep.equal(["a", "c"]);
  });
});
