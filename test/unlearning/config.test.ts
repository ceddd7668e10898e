import { expect } from "chai";
import { UserError } from "../../src/errors.js";
import {
  CONFIG_KEYS,
  METHOD_DEFAULTS,
  PRESETS,
  resolveUnlearnConfig,
  type UnlearnConfig,
} from "../../src/unlearning/config.js";

describe("unlearning/config", () => {
  it("defaults to the benchmark's best setting (one 5-epoch cycle, k = 6, rate 0.01) and the challenge's SGD settings", () => {
    const c = resolveUnlearnConfig({});
    expect(c).to.deep.equal({
      method: "stochastic",
      epochs: [5],
      layers: [6],
      schedule: { kind: "cosine", lr: 0.01, tMax: 5 },
      batchSize: 64,
      momentum: 0.9,
      weightDecay: 5e-4,
      sigma: 0.01,
      loss: "mse",
      reinit: "random",
      exclude: ["classifier", "shortcuts"],
      init: "torchvision",
    } satisfies UnlearnConfig);
    expect(resolveUnlearnConfig({ preset: "algo1" })).to.deep.equal({
      ...c,
      epochs: [1, 2, 2],
      layers: [6, 6, 6],
      schedule: { kind: "cosine", lr: 0.001, tMax: 2 },
    });
  });

  it("without a schedule, the cosine anneals over the longest cycle (stochastic) or the whole run (finetune)", () => {
    expect(resolveUnlearnConfig({ epochs: "1,2,2" }).schedule).to.deep.equal({ kind: "cosine", lr: 0.01, tMax: 2 });
    expect(resolveUnlearnConfig({ epochs: [3] }).schedule).to.deep.equal({ kind: "cosine", lr: 0.01, tMax: 3 });
    expect(resolveUnlearnConfig({ method: "finetune", epochs: "2,3" }).schedule).to.deep.equal({
      kind: "cosine",
      lr: 0.001,
      tMax: 5,
    });
    expect(resolveUnlearnConfig({ epochs: [3], schedule: "cosine:0.02:4" }).schedule).to.deep.equal({
      kind: "cosine",
      lr: 0.02,
      tMax: 4,
    });
  });

  it("algo2: 4 cycles of [2,1,1,1] epochs with per-epoch rates", () => {
    const c = resolveUnlearnConfig({ preset: "algo2" });
    expect(c.epochs).to.deep.equal([2, 1, 1, 1]);
    expect(c.layers).to.deep.equal([6, 6, 6, 6]);
    expect(c.schedule).to.deep.equal({ kind: "per-epoch", rates: [0.0005, 0.001, 0.001, 0.001, 0.001] });
    expect(c.loss).to.equal("mse");
  });

  it("finetune and neggrad: one cosine epoch over the run, cross-entropy, no noise, no re-init", () => {
    const f = resolveUnlearnConfig({ method: "finetune" });
    expect(f).to.deep.include({
      method: "finetune",
      epochs: [1],
      schedule: { kind: "cosine", lr: 0.001, tMax: 1 },
      batchSize: 64,
      momentum: 0.9,
      weightDecay: 5e-4,
      sigma: 0,
      loss: "ce",
      reinit: "none",
    });
    expect(resolveUnlearnConfig({ preset: "finetune" })).to.deep.equal(f);
    // the cosine spans every epoch of the run unless a schedule is given
    expect(resolveUnlearnConfig({ method: "finetune", epochs: 3 }).schedule).to.deep.equal({
      kind: "cosine",
      lr: 0.001,
      tMax: 3,
    });
    const n = resolveUnlearnConfig({ method: "neggrad" });
    expect(n).to.deep.include({ method: "neggrad", loss: "ce", weightDecay: 0, sigma: 0, reinit: "none" });
  });

  it("given values win over the preset, which wins over the method's defaults", () => {
    const c = resolveUnlearnConfig({
      preset: "algo2",
      epochs: "1,1",
      layers: "2,4",
      sigma: 0,
      schedule: "constant:0.01",
    });
    expect(c.epochs).to.deep.equal([1, 1]);
    expect(c.layers).to.deep.equal([2, 4]);
    expect(c.sigma).to.equal(0);
    expect(c.schedule).to.deep.equal({ kind: "constant", lr: 0.01 });
    // a preset that names another method takes that method's defaults
    expect(resolveUnlearnConfig({ preset: "finetune", batchSize: "32" })).to.deep.include({
      method: "finetune",
      batchSize: 32,
      loss: "ce",
    });
  });

  it("takes CLI-style text and typed values alike", () => {
    const text = resolveUnlearnConfig({
      epochs: "2,1",
      layers: "3",
      batchSize: "16",
      momentum: "0",
      weightDecay: "0",
      sigma: "0.05",
      loss: "ce",
      reinit: "all-body",
      exclude: "none",
      init: "pytorch-default",
      schedule: "cosine:0.01:1",
    });
    const typed = resolveUnlearnConfig({
      epochs: [2, 1],
      layers: 3,
      batchSize: 16,
      momentum: 0,
      weightDecay: 0,
      sigma: 0.05,
      loss: "ce",
      reinit: "all-body",
      exclude: [],
      init: "pytorch-default",
      schedule: { kind: "cosine", lr: 0.01, tMax: 1 },
    });
    expect(text).to.deep.equal(typed);
    expect(text.layers).to.deep.equal([3, 3]);
    expect(text.exclude).to.deep.equal([]);
    expect(resolveUnlearnConfig({ exclude: "shortcuts,classifier,shortcuts" }).exclude).to.deep.equal([
      "classifier",
      "shortcuts",
    ]);
  });

  it("every preset resolves, and every key of a resolved config is a known key", () => {
    for (const name of Object.keys(PRESETS)) {
      const c = resolveUnlearnConfig({ preset: name });
      for (const k of Object.keys(c)) expect(CONFIG_KEYS as readonly string[]).to.include(k);
    }
    for (const m of Object.keys(METHOD_DEFAULTS)) expect(resolveUnlearnConfig({ method: m }).method).to.equal(m);
  });

  it("bad options: one UserError naming the key, the value and what was expected", () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ preset: "algo3" }, /options: unknown preset 'algo3'; presets: algo1, algo2, finetune, neggrad/],
      [{ lr: 0.1 }, /unknown option 'lr'; known: preset, method, epochs/],
      [{ lr: 0.1, cycles: 3 }, /unknown options 'lr', 'cycles'/],
      [{ method: "retrain" }, /method: expected one of stochastic, finetune, neggrad, got "retrain"/],
      [{ epochs: "" }, /epochs: expected whole numbers >= 0/],
      [{ epochs: "1,x" }, /epochs: expected whole numbers >= 0 .*got "1,x"/],
      [{ epochs: [] }, /epochs: expected at least one cycle/],
      [{ epochs: "0,0" }, /epochs: every cycle has 0 epochs/],
      [{ epochs: [1.5] }, /epochs: expected whole numbers/],
      [{ layers: "1,2" }, /layers: 2 values for 1 cycle; give one or one per cycle/],
      [{ layers: -1 }, /layers: expected whole numbers >= 0/],
      [{ layers: 0 }, /layers: 0 draws in every cycle with reinit random; use reinit none/],
      [{ schedule: "warp:1" }, /--schedule warp:1/],
      [{ schedule: { kind: "cosine", lr: -1, tMax: 2 } }, /schedule: expected cosine/],
      [{ preset: "algo2", epochs: "2,2,2" }, /schedule: per-epoch gives 5 rates for 6 epochs/],
      [{ batchSize: 0 }, /batchSize: expected a whole number >= 1, got 0/],
      [{ batchSize: "8.5" }, /batchSize: expected a whole number >= 1/],
      [{ momentum: 1 }, /momentum: expected a number in \[0, 1\), got 1/],
      [{ weightDecay: -1 }, /weightDecay: expected a number >= 0/],
      [{ sigma: "lots" }, /sigma: expected a number >= 0, got "lots"/],
      [{ loss: "l1" }, /loss: expected one of mse, ce, got "l1"/],
      [{ reinit: "some" }, /reinit: expected one of random, none, all-body/],
      [{ exclude: "fc" }, /exclude: expected one of classifier, shortcuts, got "fc"/],
      [{ exclude: 3 }, /exclude: expected a list of classifier, shortcuts or none/],
      [{ init: "xavier" }, /init: expected one of torchvision, pytorch-default/],
      [{ method: "neggrad", loss: "mse" }, /neggrad ascends the cross-entropy: loss must be ce/],
      // found by the config fuzz target (scripts/fuzz): whole numbers beyond 2^53, prototype names, a T_max of 0
      [{ batchSize: 2 ** 53 }, /batchSize: expected a whole number >= 1, got 9007199254740992/],
      [{ layers: 1e308 }, /layers: expected whole numbers >= 0/],
      [{ epochs: [1, 1e21] }, /epochs: expected whole numbers >= 0/],
      [{ preset: "toString" }, /unknown preset 'toString'/],
      [{ preset: "constructor" }, /unknown preset 'constructor'/],
      [{ schedule: { kind: "cosine", lr: 0.01, tMax: 0 } }, /schedule: expected cosine/],
    ];
    for (const [given, message] of cases) {
      expect(() => resolveUnlearnConfig(given as never), JSON.stringify(given)).to.throw(UserError, message);
    }
  });

  it("quotes a value from the file short, on one line, whatever its size or depth", () => {
    const deep = JSON.parse('{"a":['.repeat(10_000) + "1" + "]}".repeat(10_000)) as unknown;
    for (const exclude of [deep, Array(10_000).fill("shortcuts\nx")]) {
      let message = "";
      try {
        resolveUnlearnConfig({ exclude } as never, "run.json");
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).to.match(/^run\.json: exclude: expected/);
      expect(message.length).to.be.lessThan(200);
      expect(message).to.not.include("\n");
    }
  });

  it("names the config file the values came from", () => {
    expect(() => resolveUnlearnConfig({ cycles: 2 } as never, "run.json")).to.throw(
      UserError,
      /^run\.json: unknown option 'cycles'/,
    );
  });

  it("undefined values are absent (flags not given leave the file's values)", () => {
    expect(resolveUnlearnConfig({ epochs: undefined, preset: undefined })).to.deep.equal(resolveUnlearnConfig({}));
  });
});
