import { expect } from "chai";
import { learningRate, parseSchedule } from "../../src/unlearning/schedule.js";

describe("unlearning/schedule", () => {
  it("cosine restarts every cycle and follows torch's CosineAnnealingLR", () => {
    const s = parseSchedule("cosine:0.001:2");
    expect(learningRate(s, { globalEpoch: 0, epochInCycle: 0, progress: 0 })).to.equal(0.001);
    expect(learningRate(s, { globalEpoch: 1, epochInCycle: 1, progress: 0 })).to.be.closeTo(0.0005, 1e-12);
    expect(learningRate(s, { globalEpoch: 1, epochInCycle: 0, progress: 0.5 })).to.be.closeTo(
      (0.001 * (1 + Math.cos(Math.PI / 4))) / 2,
      1e-12,
    );
    expect(learningRate(s, { globalEpoch: 3, epochInCycle: 0, progress: 0 })).to.equal(0.001);
  });

  it("per-epoch counts epochs over all cycles and holds the last rate", () => {
    const s = parseSchedule("per-epoch:0.0005,0.001");
    expect(learningRate(s, { globalEpoch: 0, epochInCycle: 0, progress: 0.9 })).to.equal(0.0005);
    expect(learningRate(s, { globalEpoch: 1, epochInCycle: 0, progress: 0 })).to.equal(0.001);
    expect(learningRate(s, { globalEpoch: 4, epochInCycle: 1, progress: 0 })).to.equal(0.001);
  });

  it("names the flag on a bad schedule", () => {
    expect(() => parseSchedule("cosine:abc")).to.throw(/--schedule cosine:abc: expected the initial rate/);
    expect(() => parseSchedule("linear:1")).to.throw(/expected cosine/);
  });
});
