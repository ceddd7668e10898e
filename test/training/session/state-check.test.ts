import { expect } from "chai";
import { UserError } from "../../../src/errors.js";
import { float32, int64 } from "../../../src/onnx/tensor.js";
import { buildArtifacts } from "../../../src/training/artifacts/index.js";
import { TrainingSession } from "../../../src/training/session/index.js";
import { tinyModel } from "../artifacts/helpers.js";

// The train step outputs the sum of its new state; the session scans the state (to name the bad value) only
// when that sum is not finite.
describe("the train step's state check (training/session, stateSum)", () => {
  const open = async () => {
    const artifacts = await buildArtifacts(tinyModel([0.5, -0.5], [0, 0]), { loss: "ce" });
    expect(artifacts.manifest.outputs.stateSum).to.be.a("string");
    return TrainingSession.create(artifacts, { intraOpThreads: 1 });
  };
  const labels = int64([2], [0, 1]);

  it("refuses an update that makes a weight infinite, naming it, the state unchanged", async () => {
    const session = await open();
    try {
      const before = session.getState();
      const err = await session.step(float32([2, 2], [1, 2, 3, 4]), labels, 3e38).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(UserError);
      expect((err as Error).message).to.match(/^the update makes '(w|b)' -?Infinity \(element \d of 2\) at step 1/);
      expect(session.stepCount).to.equal(0);
      for (const [k, v] of session.getState()) expect(v.data).to.deep.equal(before.get(k)!.data);
    } finally {
      await session.release();
    }
  });

  it("takes a step whose state is finite although its sum overflows float32", async () => {
    const session = await open();
    try {
      session.setParameters(new Map([["w", float32([2], [3e38, 3e38])]]), "test");
      // x = 0: the loss and the gradient of w are finite (0); only weight decay moves w
      const r = await session.step(float32([2, 2], [0, 0, 0, 0]), labels, 1e-3);
      expect(r.loss).to.be.closeTo(Math.log(2), 1e-6);
      expect(session.stepCount).to.equal(1);
      const w = session.getParameters().get("w")!.data as Float32Array;
      expect(Array.from(w).every((v) => Number.isFinite(v) && v > 2.9e38)).to.equal(true);
    } finally {
      await session.release();
    }
  });
});
