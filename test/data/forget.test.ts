import { expect } from "chai";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  buildDataset,
  MemoryExamples,
  parseForgetSpec,
  retainOnlyView,
  selectForget,
  splitTrain,
  writeForgetList,
  type Dataset,
} from "../../src/data/index.js";
import { UserError } from "../../src/errors.js";
import { pixelsOf, tempDir } from "./make-data.js";

/** n examples of 2x3x3 with label i % classes, ids 100 + i, `test` held out. */
function smallDataset(n: number, classes: number, test: number, validationFraction = 0): Dataset {
  const shape = { channels: 2, height: 3, width: 3 };
  const pixels = new Uint8Array(n * 18);
  for (let i = 0; i < n; i++) pixels.set(pixelsOf(i, 18), i * 18);
  const all = new MemoryExamples({
    shape,
    numClasses: classes,
    pixels,
    ids: Int32Array.from({ length: n }, (_, i) => 100 + i),
    labels: Int32Array.from({ length: n }, (_, i) => i % classes),
  });
  return buildDataset({
    spec: "small",
    all,
    classNames: Array.from({ length: classes }, (_, c) => `c${c}`),
    notes: [],
    test: { count: test },
    validationFraction,
  });
}

describe("data/forget", () => {
  const t = tempDir("forget");
  after(() => t.remove());
  const d = smallDataset(60, 3, 12, 0.25); // train 36, validation 12, test 12

  it("splits train/validation/test disjointly and stratified", () => {
    expect([d.train.count, d.validation.count, d.test.count]).to.deep.equal([36, 12, 12]);
    const all = [...d.train.ids, ...d.validation.ids, ...d.test.ids].sort((a, b) => a - b);
    expect(all).to.deep.equal(Array.from({ length: 60 }, (_, i) => 100 + i));
    for (const split of [d.train, d.validation, d.test]) {
      const counts = [0, 0, 0];
      split.labels.forEach((c) => counts[c]++);
      expect(new Set(counts).size, "equal share per class").to.equal(1);
    }
  });

  it("reads id lists as JSON array, JSON object or lines", () => {
    const ids = [d.train.ids[3], d.train.ids[0], d.train.ids[7]];
    const files = {
      "a.json": JSON.stringify(ids),
      "b.json": JSON.stringify({ ids }),
      "c.txt": `# forget\n${ids[0]}\n\n${ids[1]}  \n${ids[2]}\n`,
    };
    for (const [name, body] of Object.entries(files)) {
      writeFileSync(join(t.dir, name), body);
      for (const spec of [`ids:${join(t.dir, name)}`, join(t.dir, name)]) {
        const f = selectForget(d, parseForgetSpec(spec));
        expect(Array.from(f.ids)).to.deep.equal([...ids].sort((a, b) => a - b));
        expect(Array.from(f.positions)).to.deep.equal([0, 3, 7]);
      }
    }
  });

  it("selects whole classes by number or name", () => {
    const f = selectForget(d, parseForgetSpec("classes:1,c2"));
    expect(f.ids.length).to.equal(24);
    expect(Array.from(f.positions).every((p) => d.train.labels[p] !== 0)).to.equal(true);
    expect(f.description).to.equal("classes:1,2");
  });

  it("draws random and stratified forget sets from the seed", () => {
    const a = selectForget(d, parseForgetSpec("random:0.25"), { seed: 5 });
    const b = selectForget(d, parseForgetSpec("random:9"), { seed: 5 });
    const c = selectForget(d, parseForgetSpec("random:9"), { seed: 6 });
    expect(a.ids.length).to.equal(9);
    expect(Array.from(a.ids)).to.deep.equal(Array.from(b.ids));
    expect(Array.from(c.ids)).to.not.deep.equal(Array.from(b.ids));
    const s = selectForget(d, parseForgetSpec("stratified:6"), { seed: 5 });
    const counts = [0, 0, 0];
    s.positions.forEach((p) => counts[d.train.labels[p]]++);
    expect(counts).to.deep.equal([2, 2, 2]);
  });

  it("retain = train minus forget; the retain-only view holds nothing else", async () => {
    const f = selectForget(d, parseForgetSpec("random:10"), { seed: 1 });
    const { forget, retain } = splitTrain(d, f);
    expect(forget.count + retain.count).to.equal(d.train.count);
    const forgetIds = new Set(forget.ids);
    expect(Array.from(retain.ids).some((id) => forgetIds.has(id))).to.equal(false);
    const view = retainOnlyView(d, f);
    expect(Array.from(view.ids)).to.deep.equal(Array.from(retain.ids));
    expect(view.storage()).to.deep.equal({ examples: 26, bytes: 26 * 18 }); // only the retain pixels exist in it
    expect(Object.keys(view).sort()).to.deep.equal(["ids", "labels", "numClasses", "shape"]); // the rest is #private
    expect(d.all.storage().examples).to.equal(60);
    const fromView = new Float32Array(18),
      fromTrain = new Float32Array(18);
    await view.readImages([5], fromView);
    await retain.readImages([5], fromTrain);
    expect(Array.from(fromView)).to.deep.equal(Array.from(fromTrain));
    expect(() => view.select([26])).to.throw(RangeError);
  });

  it("writes the forget list for audit; ids:<file> reads it back", () => {
    const f = selectForget(d, parseForgetSpec("stratified:0.5"), { seed: 3 });
    const path = join(t.dir, "forget.json");
    writeForgetList(path, d, f);
    const body = JSON.parse(readFileSync(path, "utf8")) as {
      source: string;
      forget: string;
      count: number;
      ids: number[];
    };
    expect(body).to.include({ source: "small", forget: "stratified:0.5 (seed 3)", count: 18 });
    expect(Array.from(selectForget(d, parseForgetSpec(`ids:${path}`)).ids)).to.deep.equal(Array.from(f.ids));
  });

  describe("bad input", () => {
    const fails = (spec: string, pattern: RegExp) => {
      expect(() => selectForget(d, parseForgetSpec(spec))).to.throw(UserError, pattern);
    };
    const idFile = (name: string, ids: unknown[]) => {
      writeFileSync(join(t.dir, name), JSON.stringify(ids));
      return `ids:${join(t.dir, name)}`;
    };

    it("lists duplicated, unknown and non-train ids together", () => {
      const train = d.train.ids[0],
        test = d.test.ids[0],
        val = d.validation.ids[0];
      const spec = idFile("bad.json", [train, 7, train, test, val, 1000]);
      fails(
        spec,
        new RegExp(
          `bad\\.json: bad forget ids: id 7 is not an example of small \\(ids run 100\\.\\.159\\); id ${train} is listed more than once; id ${test} is in the test split, not train; id ${val} is in the validation split, not train; id 1000 is not`,
        ),
      );
      fails(idFile("nonint.json", [1.5, "x"]), /forget ids must be integers: entry 1 is 1\.5; entry 2 is "x"/);
    });

    it("refuses an empty retain set or an empty forget set", () => {
      fails("classes:0,1,2", /takes every training example: the retain set would be empty/);
      fails(idFile("empty.json", []), /is empty/);
      fails("random:37", /forget count 37 exceeds the 36 training examples/);
    });

    it("names bad specs and classes", () => {
      expect(() => parseForgetSpec("random:1.5")).to.throw(
        UserError,
        /random:1\.5: expected a fraction in \(0, 1\) or a count >= 1/,
      );
      expect(() => parseForgetSpec("everything")).to.throw(UserError, /unknown forget spec/);
      expect(() => parseForgetSpec(`ids:${join(t.dir, "absent.txt")}`)).to.throw(
        UserError,
        /absent\.txt: cannot read forget id list/,
      );
      fails("classes:3", /no class 3; classes are 0\.\.2 \(c0, c1, c2\)/);
    });
  });
});
