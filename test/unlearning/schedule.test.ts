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
    // T_max 0 divides by 0: every rate would be NaN (found by the config fuzz target)
    expect(() => parseSchedule("cosine:0.01:0")).to.throw(
      /--schedule cosine:0.01:0: expected T_max in epochs \(a number > 0\)/,
    );
  });

  it("cosine: the rate of any finite peak is finite (lr * (1 + cos) / 2 overflowed at 1e308)", () => {
    const s = parseSchedule("cosine:1e308:2");
    for (const progress of [0, 0.25, 0.5, 0.999])
      expect(Number.isFinite(learningRate(s, { globalEpoch: 0, epochInCycle: 0, progress }))).to.equal(true);
    expect(learningRate(s, { globalEpoch: 0, epochInCycle: 0, progress: 0 })).to.equal(1e308);
  });
});
