/**
 * `npm run memory:calibrate [-- --only name,...]`: runs small real jobs under GNU time (`/usr/bin/time -v`) and
 * prints, per job, the peak-memory estimate the job reported (its `memory` event) against the peak RSS measured,
 * as the table in docs/RELIABILITY.md ("Peak memory"). The jobs: unlearn of the shipped fmnist-5k model (default,
 * batch 256, neggrad), train of the zoo's ResNet-18 at width 8 and at full width on 32x32x3 images, eval of a run
 * folder, and a small demo. Everything goes to a temporary folder, removed at the end.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeNpy } from "../src/io/npy.js";
import { formatBytes } from "../src/training/memory/index.js";

const TIME = "/usr/bin/time";
if (!existsSync(TIME)) throw new Error(`${TIME} (GNU time) is needed to measure the peak RSS`);

const tmp = mkdtempSync(join(tmpdir(), "memory-calibration-"));
const only = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1]!.split(",") : null;

/** 3,000 random 3x32x32 images, 10 classes (a seeded LCG: the same bytes every time). */
function colourData(): string {
  const n = 3000;
  const x = new Uint8Array(n * 3 * 32 * 32);
  let s = 12345;
  for (let i = 0; i < x.length; i++) x[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  writeNpy(join(tmp, "x.npy"), { dtype: "uint8", shape: [n, 3, 32, 32], data: x });
  writeNpy(join(tmp, "y.npy"), {
    dtype: "int64",
    shape: [n],
    data: BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 10)),
  });
  return `npy:${join(tmp, "x.npy")},${join(tmp, "y.npy")}`;
}

const c32 = colourData();
const fmnist = [
  "models/fmnist-5k/model.onnx",
  "--data",
  "fashion-mnist",
  "--train-subset",
  "5000",
  "--normalise",
  "0.2860,0.3530",
  "--forget",
  "ids:models/fmnist-5k/forget-ids.json",
];
const JOBS: [string, string[]][] = [
  [
    "unlearn fmnist-5k (batch 64, MSE + teacher)",
    ["unlearn", ...fmnist, "--max-steps", "5", "--out", join(tmp, "u64")],
  ],
  [
    "unlearn fmnist-5k --batch 256",
    ["unlearn", ...fmnist, "--batch", "256", "--max-steps", "3", "--out", join(tmp, "u256")],
  ],
  [
    "unlearn fmnist-5k --method neggrad",
    ["unlearn", ...fmnist, "--method", "neggrad", "--max-steps", "5", "--out", join(tmp, "ng")],
  ],
  [
    "train zoo:resnet18w8, 3x32x32, batch 64",
    [
      "train",
      "--model",
      "zoo:resnet18w8",
      "--data",
      c32,
      "--epochs",
      "1",
      "--max-steps",
      "5",
      "--out",
      join(tmp, "w8"),
    ],
  ],
  [
    "train zoo:resnet18, 3x32x32, batch 64",
    ["train", "--model", "zoo:resnet18", "--data", c32, "--epochs", "1", "--max-steps", "3", "--out", join(tmp, "r18")],
  ],
  [
    "train zoo:resnet18, 3x32x32, batch 256",
    [
      "train",
      "--model",
      "zoo:resnet18",
      "--data",
      c32,
      "--epochs",
      "1",
      "--batch",
      "256",
      "--max-steps",
      "2",
      "--out",
      join(tmp, "r18b"),
    ],
  ],
  ["eval of the fmnist-5k original", ["eval", "models/fmnist-5k/model.onnx", ...fmnist.slice(1), "--json"]],
  [
    "demo --train-size 2000 --epochs 1 --unlearn-epochs 1,1,1",
    [
      "demo",
      "--train-size",
      "2000",
      "--epochs",
      "1",
      "--unlearn-epochs",
      "1,1,1",
      "--eval-limit",
      "2000",
      "--out",
      join(tmp, "demo"),
    ],
  ],
];

const cli = (args: string[]) =>
  spawnSync(TIME, ["-v", process.execPath, "--import", "tsx", "scripts/cli.ts", ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });

process.stdout.write("| job | estimate | peak RSS | estimate / RSS |\n|---|---|---|---|\n");
try {
  for (const [name, args] of JOBS) {
    if (only && !only.some((o) => name.includes(o))) continue;
    // the estimate, from the refusal under a 1-byte budget (before any work, nothing written)
    const refused = cli([...args, "--memory-budget", "1"]);
    const m = /estimated peak memory ([\d.]+) (KiB|MiB|GiB)/.exec(refused.stderr);
    if (refused.status !== 2 || !m) throw new Error(`${name}: not refused (exit ${refused.status})\n${refused.stderr}`);
    const estimate = Number(m[1]) * { KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30 }[m[2] as "KiB"];
    const r = cli(args);
    if (r.status !== 0) throw new Error(`${name}: exit ${r.status}\n${r.stderr.slice(-2000)}`);
    const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1]) * 1024;
    process.stdout.write(
      `| ${name} | ${formatBytes(estimate)} | ${formatBytes(rss)} | ${(estimate / rss).toFixed(2)} |\n`,
    );
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
