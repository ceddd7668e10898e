import { expect } from "chai";
import { rngFor } from "../../src/data/random.js";
import { layerInventory } from "../../src/onnx/layers.js";
import { loadModel } from "../../src/onnx/model-io.js";
import { resolveUnlearnConfig } from "../../src/unlearning/config.js";
import { drawLayers } from "../../src/unlearning/reinit.js";
import { reinitPool } from "../../src/unlearning/stochastic-unlearning.js";
import { FMNIST_MODEL } from "../helpers/tiny-job.js";

const inventory = layerInventory(loadModel(FMNIST_MODEL));
const names = (exclude: string) => reinitPool(inventory, resolveUnlearnConfig({ exclude })).map((l) => l.name);
const byRole = (role: string) => inventory.layers.filter((l) => l.role === role).map((l) => l.name);

describe("unlearning/reinitPool", () => {
  it("the fixture has 17 body layers, 3 projection shortcuts and the classifier", () => {
    expect(byRole("body")).to.have.length(17);
    expect(byRole("shortcut")).to.deep.equal([
      "layer2.0.downsample.0",
      "layer3.0.downsample.0",
      "layer4.0.downsample.0",
    ]);
    expect(byRole("classifier")).to.deep.equal(["fc"]);
  });

  it("by default holds the body layers only, in graph order", () => {
    expect(names("classifier,shortcuts")).to.deep.equal(byRole("body"));
    expect(reinitPool(inventory, resolveUnlearnConfig({})).map((l) => l.name)).to.deep.equal(byRole("body"));
  });

  it("exclude none puts the classifier and the shortcuts in the pool; each exclusion removes its role", () => {
    expect(names("none")).to.deep.equal(inventory.layers.map((l) => l.name));
    expect(names("classifier")).to.deep.equal(
      inventory.layers.filter((l) => l.role !== "classifier").map((l) => l.name),
    );
    expect(names("shortcuts")).to.deep.equal(inventory.layers.filter((l) => l.role !== "shortcut").map((l) => l.name));
  });

  it("draws from the pool it is given: the classifier and shortcuts only come out with exclude none", () => {
    const seen = (exclude: string) => {
      const pool = reinitPool(inventory, resolveUnlearnConfig({ exclude }));
      const out = new Set<string>();
      for (let s = 0; s < 40; s++) drawLayers(pool, 6, rngFor(s, "reinit", 0)).layers.forEach((l) => out.add(l.name));
      return out;
    };
    const open = seen("none");
    expect(open.has("fc")).to.equal(true);
    expect(byRole("shortcut").every((n) => open.has(n))).to.equal(true);
    const closed = seen("classifier,shortcuts");
    expect(closed.has("fc")).to.equal(false);
    expect(byRole("shortcut").some((n) => closed.has(n))).to.equal(false);
    expect(closed.size).to.equal(17);
  });
});
