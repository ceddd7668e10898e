import { expect } from "chai";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { UserError } from "../../../src/errors.js";
import {
  mergeReportInputs,
  renderReport,
  validateReportInput,
  type ReportInput,
} from "../../../src/evaluation/report/index.js";
import { chromiumMissing, visitInChromium, CHROMIUM } from "../../helpers/chromium.js";
import { runCli } from "../../helpers/run-cli.js";
import { syntheticReportInput } from "./synthetic.js";

/** Data marks in an SVG string: `<g class="mark-… role-mark …">` groups and their non-empty paths. */
function dataPaths(svg: string): string[] {
  const paths: string[] = [];
  for (const group of svg.split(/<g class="mark-[a-z]+ role-mark[^"]*"/).slice(1)) {
    const body = group.slice(0, group.indexOf("</g>"));
    for (const m of body.matchAll(/<path [^>]*\bd="([^"]*)"/g)) paths.push(m[1]!);
  }
  return paths;
}

/** The text of vega's legend labels (`<g class="mark-text role-legend-label">` groups), in order. */
const legendLabels = (svg: string) =>
  svg
    .split("role-legend-label")
    .slice(1)
    .flatMap((part) =>
      [...part.slice(0, part.indexOf("</g>")).matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]),
    );

describe("evaluation/report", () => {
  let input: ReportInput;
  let html: string;
  let svgs: Record<string, string>;
  before(async () => {
    input = syntheticReportInput();
    ({ html, svgs } = await renderReport(input));
  });

  it("draws the logits, accuracy and epsilon figures with data marks", () => {
    expect(Object.keys(svgs)).to.deep.equal(["logits", "accuracy", "epsilons"]);
    // logits: an area and a line per model and set; accuracy: one bar per (model, measured split); epsilons: one
    // bar per non-empty 0.5 bucket below ceil(ln 31) = 4, plus the bucket of those that earn nothing
    const logits = dataPaths(svgs.logits!);
    expect(logits).to.have.length(2 * 2 * 4);
    for (const d of logits) expect(d).to.match(/^M[-\d.,]+L/);
    expect(dataPaths(svgs.accuracy!)).to.have.length(4 + 4 + 3 + 4);
    const eps = input.score!.epsilons;
    const buckets = new Set(eps.map((e) => (e >= 4 ? 8 : Math.floor(e / 0.5))));
    expect(dataPaths(svgs.epsilons!)).to.have.length(buckets.size);
    expect(legendLabels(svgs.logits!)).to.deep.equal(["original", "fine-tune", "ours", "retrained"]);
  });

  it("is one self-contained page: figures inline, no script, no external resource", () => {
    for (const svg of Object.values(svgs)) expect(html).to.include(svg);
    expect(html.match(/<figure class="chart"/g)).to.have.length(3);
    expect(html).not.to.match(/<script|<link|<img|<iframe|\ssrc=|\shref=|url\(/i);
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<>)]+/g)].map((m) => m[0]);
    expect(new Set(urls)).to.deep.equal(new Set(["http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"]));
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size, "element ids are unique").to.equal(ids.length);
  });

  it("shows the score with N, S and its interval, the table, the facts; escapes text", () => {
    expect(html).to.include("<title>Synthetic report: &lt;original&gt; &amp; friends</title>");
    expect(html).to.include("F = 0.1534</strong> (bootstrap interval over forget examples 0.1390 – 0.1680)");
    expect(html).to.include("= <strong>0.1402</strong>");
    expect(html).to.include("N = 32 runs per model (unlearned and retrained), S = 250 forget examples");
    const row = html.split("\n").find((l) => l.startsWith('<tr><td class="text">ours<'));
    expect(row).to.equal(
      '<tr><td class="text">ours</td><td class="text">unlearned</td><td>4</td><td>87.80%</td><td>85.00%</td>' +
        "<td>86.70%</td><td>86.50%</td><td>0.510</td><td>36.2 s</td><td>12.5%</td></tr>",
    );
    expect(html).to.include("<td>–</td>"); // fine-tune has no validation accuracy
    expect(html).to.include("<dt>forget ids (hash)</dt><dd>sha256:3f2a…</dd>");
  });

  it("is the same page for the same input", async () => {
    expect((await renderReport(syntheticReportInput())).html).to.equal(html);
  });

  it("leaves out what the input does not have", async () => {
    const bare: ReportInput = {
      title: "bare",
      models: [{ name: "m", role: "unlearned", runs: 1, accuracy: { test: 50 } }],
    };
    const r = await renderReport(bare);
    expect(Object.keys(r.svgs)).to.deep.equal(["accuracy"]);
    expect(r.html).to.include("No score in the inputs");
    expect(r.html).to.include("No logit samples in the inputs");
    expect(r.html).not.to.include('id="facts"');
    expect(r.html).not.to.include("time / retraining");
  });

  describe("bad input", () => {
    it("lists every problem with its key", () => {
      const bad = syntheticReportInput();
      (bad.models[1] as { role: string }).role = "teacher";
      bad.models[2]!.runs = 0;
      bad.models[2]!.accuracy.test = 120;
      (bad.models[3]!.logits!.forget as unknown[])[5] = null;
      bad.score!.epsilons.pop();
      (bad.facts as Record<string, string>).colour = "red";
      expect(() => validateReportInput(bad, "in.json"))
        .to.throw(UserError)
        .with.property(
          "message",
          "in.json: models[1].role: expected one of original, retrained, unlearned, baseline; models[2].runs: expected an " +
            "integer >= 1; models[2].accuracy.test: expected a percentage in [0, 100]; models[3].logits.forget[5]: " +
            "expected a finite number, got null; score.epsilons: expected 250 values (score.s), got 249; facts.colour: " +
            "expected one of the keys dataSource, forgetIdsHash, originalModelHash, commit, host, date",
        );
      expect(() => validateReportInput([], "x.json")).to.throw(UserError, "x.json: expected a JSON object");
    });

    it("merges inputs, refusing a model twice, two scores, or another forget set", () => {
      const a = syntheticReportInput();
      const b: ReportInput = {
        title: "b",
        models: [{ name: "ours v2", role: "unlearned", runs: 2, accuracy: { test: 80 } }],
        facts: { forgetIdsHash: a.facts!.forgetIdsHash!, host: "laptop" },
      };
      const m = mergeReportInputs([
        { input: a, source: "a.json" },
        { input: b, source: "b.json" },
      ]);
      expect(m.title).to.equal(a.title);
      expect(m.models.map((x) => x.name)).to.deep.equal(["original", "fine-tune", "ours", "retrained", "ours v2"]);
      expect(m.facts!.host).to.equal("ci-runner; laptop");
      expect(m.score).to.equal(a.score);

      const again = (input: ReportInput) => () =>
        mergeReportInputs([
          { input: a, source: "a.json" },
          { input, source: "c.json" },
        ]);
      expect(again({ ...b, models: [a.models[0]!] })).to.throw(UserError, "c.json: model 'original' is also in a.json");
      expect(again({ ...b, score: a.score })).to.throw(UserError, "c.json: a second score (the first is in a.json)");
      expect(again({ ...b, facts: { forgetIdsHash: "sha256:other" } })).to.throw(
        UserError,
        "c.json: forget ids (hash) 'sha256:other' differs from 'sha256:3f2a…' in a.json",
      );
    });
  });

  describe("cli: report", () => {
    let dir: string;
    before(() => (dir = mkdtempSync(join(tmpdir(), "report-cli-"))));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("writes the page and the figures as SVG files, next to it or in --svg-dir", async () => {
      const a = join(dir, "a.json");
      const b = join(dir, "b.json");
      const full = syntheticReportInput();
      writeFileSync(a, JSON.stringify({ ...full, models: full.models.slice(0, 2) }));
      writeFileSync(b, JSON.stringify({ title: "part two", models: full.models.slice(2) }));
      const out = join(dir, "out", "report.html");
      const r = await runCli(["report", a, b, "--out", out]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout.split("\n")[0]).to.equal(`${out}: 4 models, 3 figures, score`);
      expect(readdirSync(join(dir, "out")).sort()).to.deep.equal([
        "report-accuracy.svg",
        "report-epsilons.svg",
        "report-logits.svg",
        "report.html",
      ]);
      expect(readFileSync(out, "utf8")).to.equal(html);
      expect(readFileSync(join(dir, "out", "report-logits.svg"), "utf8")).to.equal(svgs.logits);

      const r2 = await runCli(["report", a, b, "--out", join(dir, "r2.html"), "--svg-dir", join(dir, "figs")]);
      expect(r2.code, r2.stderr).to.equal(0);
      expect(readdirSync(join(dir, "figs")).sort()).to.deep.equal([
        "r2-accuracy.svg",
        "r2-epsilons.svg",
        "r2-logits.svg",
      ]);
    });

    it("names the bad file in one line, exit code 2, and writes nothing", async () => {
      const bad = join(dir, "bad.json");
      writeFileSync(bad, '{"title": "t", "models": [{"name": "m", "role": "x", "runs": 1, "accuracy": {}}]}');
      const out = join(dir, "bad.html");
      const r = await runCli(["report", bad, "--out", out]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.equal(
        `onnx-unlearn: ${bad}: models[0].role: expected one of original, retrained, unlearned, baseline\n`,
      );
      const r2 = await runCli(["report", join(dir, "missing.json"), "--out", out]);
      expect(r2.stderr).to.equal(`onnx-unlearn: ${join(dir, "missing.json")}: cannot read the report input (ENOENT)\n`);
      writeFileSync(bad, "{not json");
      expect((await runCli(["report", bad, "--out", out])).stderr).to.match(/: not valid JSON \(/);
      expect(existsSync(out)).to.equal(false);
    });
  });

  describe("in a browser", () => {
    /** Skips the test, saying why, where there is no Chromium. */
    function needChromium(ctx: Mocha.Context): void {
      const why = chromiumMissing();
      if (!why) return;
      process.stderr.write(`\n  skipped "${ctx.test!.title}": ${why}\n`);
      ctx.test!.title += ` (skipped: ${why})`;
      ctx.skip();
    }

    it("opens in headless Chromium with no console errors and non-empty figures", async function () {
      needChromium(this);
      this.timeout(90_000);
      const dir = mkdtempSync(join(tmpdir(), "report-chromium-"));
      const page = join(dir, "report.html");
      writeFileSync(page, html);
      const shot = join(dir, "report.png");
      const visit = await visitInChromium(page, shot);

      expect(visit.console, "console messages").to.deep.equal([]);
      expect(visit.pageErrors).to.deep.equal([]);
      expect(visit.failedRequests).to.deep.equal([]);
      expect(visit.requests, "the page loads nothing but itself").to.have.length(1);
      expect(visit.figures.map((f) => f.id)).to.deep.equal(["fig-logits", "fig-accuracy", "fig-epsilons"]);
      const [logits, accuracy, epsilons] = visit.figures;
      expect(logits!.marks).to.equal(16);
      expect(logits!.legend).to.deep.equal(["original", "fine-tune", "ours", "retrained"]);
      expect(accuracy!.marks).to.equal(15);
      expect(epsilons!.marks).to.be.at.least(2);
      for (const f of visit.figures) expect(f.width * f.height, f.id).to.be.greaterThan(100 * 100);
      const png = readFileSync(shot);
      expect(png.subarray(1, 4).toString()).to.equal("PNG");
      expect(statSync(shot).size).to.be.greaterThan(20_000);
      process.stderr.write(`\n  report screenshot (Chromium ${visit.browserVersion}, ${CHROMIUM}): ${shot}\n`);
    });

    it("sees what a broken page does: an external image and an inline script are blocked and reported", async function () {
      needChromium(this);
      this.timeout(90_000);
      const dir = mkdtempSync(join(tmpdir(), "report-chromium-bad-"));
      try {
        const page = join(dir, "bad.html");
        writeFileSync(page, html.replace("<body>", '<body><img src="https://example.com/x.png"><script>1</script>'));
        const visit = await visitInChromium(page, join(dir, "bad.png"));
        expect(visit.console.map((m) => m.type)).to.deep.equal(["error", "error"]);
        expect(visit.console[0]!.text).to.match(/Content Security Policy/);
        expect(visit.requests).to.deep.equal([pathToFileURL(page).href, "https://example.com/x.png"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
