/** Where and with what a run was made: versions and host, for the manifest. */
import { readFileSync } from "node:fs";
import { cpus, hostname, platform, totalmem } from "node:os";
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

export interface RunEnvironment {
  package: string;
  onnxruntime: string;
  node: string;
  /** git commit of the package's checkout, when it is one. */
  commit?: string;
  host: { name: string; platform: string; cpus: number; cpuModel: string; memoryGiB: number };
}

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

function packageVersion(file: string): string {
  try {
    return (JSON.parse(readFileSync(file, "utf8")) as { version?: string }).version ?? "unknown";
  } catch {
    return "unknown";
  }
}

function gitCommit(): string | undefined {
  try {
    return (
      execFileSync("git", ["-C", packageRoot, "rev-parse", "HEAD"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim() || undefined
    );
  } catch {
    return undefined;
  }
}

let cached: RunEnvironment | undefined;

export function runEnvironment(): RunEnvironment {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  let ort = "unknown";
  try {
    ort = packageVersion(join(dirname(require.resolve("onnxruntime-node")), "..", "package.json"));
  } catch {
    /* not resolvable: leave unknown */
  }
  const cpu = cpus();
  cached = {
    package: packageVersion(join(packageRoot, "package.json")),
    onnxruntime: ort,
    node: process.versions.node,
    commit: gitCommit(),
    host: {
      name: hostname(),
      platform: `${platform()}-${process.arch}`,
      cpus: cpu.length,
      cpuModel: cpu[0]?.model ?? "unknown",
      memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    },
  };
  return cached;
}
