import { expect } from "chai";
import * as ort from "onnxruntime-node";
import { appendBackward } from "../../../src/autograd/engine.js";
import { float, makeAttributes } from "../../../src/onnx/attributes.js";
import {
  encodeModel,
  newGraph,
  newModel,
  newNode,
  newOpset,
  newTensorValueInfo,
  DataType,
} from "../../../src/onnx/proto.js";
import { makeTensorProto } from "../../../src/onnx/tensor.js";
import { checkGradient } from "../../helpers/gradcheck.js";

interface TrainCase {
  ratio?: number;
  /** "constant": training_mode is an initializer true; "input": fed at run time with `mode`. */
  training: "constant" | "input";
  mode?: boolean;
}

/**
 * Dropout draws a new mask every run, so a central difference (three runs) cannot check it. Instead one
 * run of Dropout -> loss = sum(u * Y) -> backward returns dX and the mask together, and dX must equal
 * u * mask / (1 - ratio) in training mode and u in inference mode.
 */
async function dropoutGrad(c: TrainCase) {
  const dims = [4, 25];
  const n = 100;
  const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i + 1));
  const u = Float32Array.from({ length: n }, (_, i) => Math.cos(3 * i));
  const init = [makeTensorProto("u", { dtype: "float32", dims, data: u })];
  if (c.ratio !== undefined)
    init.push(makeTensorProto("ratio", { dtype: "float32", dims: [], data: Float32Array.from([c.ratio]) }));
  if (c.training === "constant")
    init.push(makeTensorProto("training", { dtype: "bool", dims: [], data: Uint8Array.from([1]) }));
  const g = newGraph({
    name: "dropout",
    node: [
      newNode({
        opType: "Dropout",
        name: "drop",
        input: ["x", c.ratio === undefined ? "" : "ratio", "training"],
        output: ["y", "mask"],
        attribute: makeAttributes({ seed: 7 }),
      }),
      newNode({ opType: "Mul", name: "proj", input: ["y", "u"], output: ["p"] }),
      newNode({
        opType: "ReduceSum",
        name: "sum",
        input: ["p"],
        output: ["loss"],
        attribute: makeAttributes({ keepdims: 0 }),
      }),
    ],
    input: [
      newTensorValueInfo("x", DataType.FLOAT, dims),
      ...(c.training === "input" ? [newTensorValueInfo("training", DataType.BOOL, [])] : []),
    ],
    initializer: init,
  });
  const grads = appendBackward(g, {
    loss: "loss",
    wrt: ["x"],
    opset: 17,
    shapes: new Map([
      ["y", dims],
      ["loss", []],
    ]),
  });
  g.output = [
    newTensorValueInfo(grads.get("x")!, DataType.FLOAT, dims),
    newTensorValueInfo("mask", DataType.BOOL, dims),
  ];
  const session = await ort.InferenceSession.create(
    encodeModel(newModel({ irVersion: 9n, opsetImport: [newOpset("", 17)], graph: g })),
  );
  const feeds: Record<string, ort.Tensor> = { x: new ort.Tensor("float32", x, dims) };
  if (c.training === "input") feeds["training"] = new ort.Tensor("bool", Uint8Array.from([c.mode ? 1 : 0]), []);
  const out = await session.run(feeds);
  return { dX: out[grads.get("x")!]!.data as Float32Array, mask: out["mask"]!.data as Uint8Array, u };
}

function expectDropoutGrad(r: Awaited<ReturnType<typeof dropoutGrad>>, scale: number, dropsSome: boolean) {
  const kept = r.mask.reduce((s, m) => s + (m ? 1 : 0), 0);
  if (dropsSome) expect(kept).to.be.within(1, r.mask.length - 1);
  r.dX.forEach((d, i) => expect(d).to.be.closeTo(r.mask[i] ? r.u[i]! * scale : 0, 1e-6));
}

describe("Dropout gradient rule", () => {
  it("inference (no training_mode input): identity", () =>
    checkGradient({ op: "Dropout", dtype: "float32", inputs: [{ dims: [3, 4] }] }));
  it("training_mode constant false: identity", () =>
    checkGradient({
      op: "Dropout",
      dtype: "float32",
      inputs: [{ dims: [3, 4] }, { dims: [], constant: true, values: [0.3] }, { dims: [], dtype: "bool", values: [0] }],
    }));
  it("opset 10 (ratio attribute): identity", () =>
    checkGradient({
      op: "Dropout",
      opset: 10,
      dtype: "float32",
      attrs: { ratio: float(0.2) },
      inputs: [{ dims: [2, 3] }],
    }));
  it("training, constant ratio 0.3: dY * mask / 0.7", async () =>
    expectDropoutGrad(await dropoutGrad({ ratio: 0.3, training: "constant" }), 1 / 0.7, true));
  it("training, default ratio 0.5", async () =>
    expectDropoutGrad(await dropoutGrad({ training: "constant" }), 2, true));
  it("training_mode fed at run time, true", async () =>
    expectDropoutGrad(await dropoutGrad({ ratio: 0.25, training: "input", mode: true }), 1 / 0.75, true));
  it("training_mode fed at run time, false: identity", async () => {
    const r = await dropoutGrad({ ratio: 0.25, training: "input", mode: false });
    expect(Array.from(r.mask).every((m) => m === 1)).to.equal(true);
    expectDropoutGrad(r, 1, false);
  });

  describe("bad call", () => {
    it("a training Dropout without its mask output", async () => {
      const err = await checkGradient({
        op: "Dropout",
        dtype: "float32",
        inputs: [
          { dims: [3, 4] },
          { dims: [], constant: true, values: [0.3] },
          { dims: [], dtype: "bool", values: [1] },
        ],
      }).catch((e: Error) => e);
      expect(err).to.be.instanceOf(Error);
      expect((err as Error).name).to.equal("UserError");
      expect((err as Error).message).to.match(/Dropout.*mask output/);
    });
  });
});
