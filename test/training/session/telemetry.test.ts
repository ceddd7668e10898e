/** onnxruntime's usage telemetry (a device id and an event database under ~/.cache) is off in our sessions. */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

function run(home: string, env: Record<string, string>): void {
  const script = join(home, "probe.mts");
  writeFileSync(
    script,
    `import { InferenceModel } from ${JSON.stringify(resolve("src/training/inference.ts"))};
import { loadModel } from ${JSON.stringify(resolve("src/onnx/model-io.ts"))};
const m = await InferenceModel.create(loadModel(${JSON.stringify(resolve("test/fixtures/pytorch/resnet18w8_fmnist.ts-preserve.onnx"))}));
await m.release();
`,
  );
  // onnxruntime writes no telemetry when CI is set (as CI runs set it): the child runs without it, as users do
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => k !== "ORT_DISABLE_TELEMETRY" && k !== "XDG_CACHE_HOME" && k !== "CI"),
  ) as Record<string, string>;
  const r = spawnSync(process.execPath, ["--import", "tsx", script], {
    env: { ...base, HOME: home, ...env },
    encoding: "utf8",
  });
  expect(r.status, r.stderr).to.equal(0);
}

describe("training/session: onnxruntime telemetry", function () {
  this.timeout(60_000);
  let home: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), "ort-home-"));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it("a session writes nothing under ~/.cache", () => {
    run(home, {});
    expect(existsSync(join(home, ".cache")), readdirSync(home).join(", ")).to.equal(false);
  });
  it("ORT_DISABLE_TELEMETRY=0 turns it back on (so the check above can fail)", () => {
    run(home, { ORT_DISABLE_TELEMETRY: "0" });
    expect(existsSync(join(home, ".cache/Microsoft/DeveloperTools/.onnxruntime"))).to.equal(true);
  });
});
