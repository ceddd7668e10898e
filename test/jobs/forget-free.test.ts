/**
 * Forget-free by construction: stochastic and finetune run to the end through data on which reading any forget
 * example throws; neggrad, the one method that reads the forget set, trips the same guard and says so.
 */
import { expect } from "chai";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  computeNormalisation,
  openSource,
  parseForgetSpec,
  retainOnly,
  selectForget,
  splitTrain,
  type Dataset,
} from "../../src/data/index.js";
import { UserError } from "../../src/errors.js";
import { negGrad, stochasticUnlearning, unlearn, type JobEvent } from "../../src/index.js";
import { loadModel } from "../../src/onnx/model-io.js";
import { readManifest } from "../../src/runs/index.js";
import { resolveUnlearnConfig } from "../../src/unlearning/config.js";
import { tempDir, writePngFolder } from "../data/make-data.js";
import { ForgetRead, guardedDataset } from "../helpers/guarded-examples.js";
import { FMNIST_MODEL, npyData } from "../helpers/tiny-job.js";

const CLASSES = Array.from({ length: 10 }, (_, c) => `c${c}`);
const PER_CLASS = 6;

describe("forget-free: stochastic and finetune never read a forget example", function () {
  this.timeout(180000);
  let tmp: ReturnType<typeof tempDir>;
  before(() => (tmp = tempDir("forget-free")));
  after(() => tmp.remove());

  describe("job level: a folder source whose forget images are poisoned (reading one is an error)", () => {
    let source: string;
    let forgetFile: string;
    let forgetIds: number[];
    before(async () => {
      const dir = join(tmp.dir, "images");
      await writePngFolder(dir, { classes: CLASSES, perClass: PER_CLASS, width: 28, height: 28, channels: 1 });
      source = `folder:${dir}`;
      const dataset = await openSource(source);
      // every third training example but id 0 (the folder source reads the first file's header to learn the shape)
      forgetIds = Array.from(dataset.train.ids).filter((id, p) => id !== 0 && p % 3 === 1);
      forgetFile = join(tmp.dir, "forget.json");
      writeFileSync(forgetFile, JSON.stringify(forgetIds));
      // the images of the forget set are gone: their files now hold bytes no decoder accepts
      for (const id of forgetIds) {
        const file = join(dir, CLASSES[Math.floor(id / PER_CLASS)]!, `img${id % PER_CLASS}.png`);
        writeFileSync(file, "this forget example was deleted; reading it is a bug\n");
      }
    });

    const run = (method: string, extra: Record<string, unknown> = {}, events?: JobEvent[]) =>
      unlearn({
        model: FMNIST_MODEL,
        data: source,
        forget: `ids:${forgetFile}`,
        config: { method, batchSize: 8, ...(method === "stochastic" ? { epochs: "1,1", layers: 2 } : {}) },
        out: join(tmp.dir, `folder-${method}`),
        maxStepsPerEpoch: 2,
        intraOpThreads: 1,
        onEvent: (e) => events?.push(e),
        ...extra,
      });

    it("stochastic (with --normalise auto from the retain set) runs to the end", async () => {
      const r = await run("stochastic", { normalise: "auto" });
      expect(r.made).to.equal(1);
      const m = readManifest(join(tmp.dir, "folder-stochastic"))!;
      expect(m.readsForget).to.equal(false);
      expect(m.forget!.count).to.equal(forgetIds.length);
      expect(m.retain.count).to.equal(48 - forgetIds.length);
      expect(m.epochs.map((e) => e.images)).to.deep.equal([16, 16]);
      expect((m.config.normalisation as { mean: number[] }).mean).to.have.length(1);
    });

    it("finetune runs to the end", async () => {
      await run("finetune");
      const m = readManifest(join(tmp.dir, "folder-finetune"))!;
      expect(m.method).to.equal("finetune");
      expect(m.readsForget).to.equal(false);
      expect(m.epochs).to.have.length(1);
    });

    it("neggrad reads the forget set, so it fails on the first poisoned file (the guard is live)", async () => {
      const err = await run("neggrad").then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(UserError);
      expect((err as Error).message).to.match(/c\d\/img\d\.png: cannot decode image/);
      expect(
        forgetIds.some((id) =>
          (err as Error).message.includes(`c${Math.floor(id / PER_CLASS)}/img${id % PER_CLASS}.png`),
        ),
      ).to.equal(true);
    });
  });

  describe("library level: a Dataset wrapper whose forget examples throw on any read", () => {
    let dataset: Dataset;
    let guarded: Dataset;
    let forget: ReturnType<typeof selectForget>;
    const reads = new Set<number>();
    before(async () => {
      dataset = await openSource(npyData(tmp.dir, 64));
      forget = selectForget(dataset, parseForgetSpec("random:10"), { seed: 3 });
      guarded = guardedDataset(dataset, new Set(forget.ids), reads);
    });

    it("the wrapper throws on a forget example, by readImages or by detach", async () => {
      const out = new Float32Array(28 * 28);
      const err = await guarded.train.readImages([forget.positions[0]!], out).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(ForgetRead);
      expect(() => guarded.train.detach()).to.throw(ForgetRead);
      expect(() => splitTrain(guarded, forget).forget.detach()).to.throw(ForgetRead);
    });

    for (const method of ["stochastic", "finetune"] as const) {
      it(`${method} runs to the end through retainOnly(wrapper, forget), reading retain examples only`, async () => {
        reads.clear();
        const retain = retainOnly(guarded, forget);
        expect(retain.storage().examples).to.equal(dataset.train.count - forget.ids.length);
        const normalisation = await computeNormalisation(retain);
        const r = await stochasticUnlearning({
          model: loadModel(FMNIST_MODEL),
          retain,
          normalisation,
          config: { method, batchSize: 8, ...(method === "stochastic" ? { epochs: "1,1", layers: 2 } : {}) },
          maxStepsPerEpoch: 2,
          intraOpThreads: 1,
        });
        try {
          expect(r.cycles.flatMap((c) => c.epochs.map((e) => e.images))).to.deep.equal(
            method === "stochastic" ? [16, 16] : [16],
          );
        } finally {
          await r.session.release();
        }
        expect(reads.size).to.equal(retain.count);
        for (const id of forget.ids) expect(reads.has(id)).to.equal(false);
      });
    }

    it("negGrad on the wrapper's forget examples trips the guard", async () => {
      const err = await negGrad({
        model: loadModel(FMNIST_MODEL),
        forget: splitTrain(guarded, forget).forget,
        config: resolveUnlearnConfig({ method: "neggrad", batchSize: 5 }),
        maxStepsPerEpoch: 1,
        intraOpThreads: 1,
      }).then(
        (r) => r.session.release(),
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(ForgetRead);
    });
  });

  it("manifests: readsForget is true for neggrad only, and neggrad says so", async () => {
    const data = npyData(tmp.dir, 64, "plain");
    const flags: Record<string, boolean> = {};
    const notes: string[] = [];
    for (const method of ["stochastic", "finetune", "neggrad"]) {
      const out = join(tmp.dir, `plain-${method}`);
      await unlearn({
        model: FMNIST_MODEL,
        data,
        forget: "random:8",
        config: { method, batchSize: 8, ...(method === "stochastic" ? { epochs: "1", layers: 1 } : {}) },
        out,
        maxStepsPerEpoch: 1,
        intraOpThreads: 1,
        onEvent: (e) => {
          if (e.event === "note") notes.push(`${method}: ${e.message}`);
        },
      });
      flags[method] = readManifest(out)!.readsForget;
      expect(JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")).readsForget).to.equal(flags[method]);
    }
    expect(flags).to.deep.equal({ stochastic: false, finetune: false, neggrad: true });
    expect(notes.filter((n) => /reads the forget set/.test(n))).to.deep.equal([
      "neggrad: neggrad reads the forget set (gradient ascent on its loss): it is not forget-free",
    ]);
    expect(readManifest(join(tmp.dir, "plain-neggrad"))!.notes).to.include(
      "neggrad reads the forget set (gradient ascent on its loss): it is not forget-free",
    );
  });
});
