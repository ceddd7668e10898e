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
  /**
   * True when that checkout had uncommitted changes to tracked files: the commit alone does not say what code ran
   * (how the README's demo numbers once became unreproducible: docs/RELIABILITY.md, "Determinism").
   */
  dirty?: boolean;
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

const git = (...args: string[]) =>
  execFileSync("git", ["-C", packageRoot, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();

/** The commit of the package's checkout and whether its tracked files have changes (not cached: runEnvironment is). */
export function gitCheckout(): { commit?: string; dirty?: boolean } {
  try {
    const commit = git("rev-parse", "HEAD") || undefined;
    return commit ? { commit, dirty: git("status", "--porcelain", "--untracked-files=no") !== "" } : {};
  } catch {
    return {};
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
    ...gitCheckout(),
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
