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
  host: {
    name: string;
    platform: string;
    cpus: number;
    cpuModel: string;
    /**
     * Linux: "family F model M stepping S" from /proc/cpuinfo, and the widest vector instruction set the CPU reports
     * (avx512, avx2, avx, neon, or none). A hypervisor may show different CPUs by one model name ("AMD EPYC"), and
     * what onnxruntime's and PyTorch's kernels run differs with them: timings of two such hosts do not compare.
     */
    cpuId?: string;
    vectorIsa?: string;
    memoryGiB: number;
  };
}

/** /proc/cpuinfo flags, widest first, and the vector ISA each names. */
const VECTOR_ISAS = [
  ["avx512f", "avx512"],
  ["avx2", "avx2"],
  ["avx", "avx"],
  ["asimd", "neon"],
  ["neon", "neon"],
] as const;

/** The CPU's family/model/stepping and widest vector ISA as /proc/cpuinfo gives them (text of that file); {} if absent. */
export function cpuDetails(cpuinfo: string | undefined): { cpuId?: string; vectorIsa?: string } {
  if (!cpuinfo) return {};
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, "m").exec(cpuinfo)?.[1]?.trim();
  const [family, model, stepping] = [field("cpu family"), field("model"), field("stepping")];
  const flags = new Set((field("flags") ?? field("Features") ?? "").split(/\s+/));
  const vectorIsa = VECTOR_ISAS.find(([flag]) => flags.has(flag))?.[1] ?? "none";
  return {
    ...(family && model ? { cpuId: `family ${family} model ${model}${stepping ? ` stepping ${stepping}` : ""}` } : {}),
    vectorIsa,
  };
}

function readCpuinfo(): string | undefined {
  try {
    return readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return undefined;
  }
}

type Cpus = Pick<RunEnvironment["host"], "cpus" | "cpuModel" | "cpuId" | "vectorIsa">;

/** The host's CPUs as timings need them: "2 x AMD EPYC (family 25 model 17 stepping 1, avx512)". */
export function cpuSummary(h: Cpus): string {
  const detail = [h.cpuId, h.vectorIsa].filter((d) => d !== undefined);
  return `${h.cpus} x ${h.cpuModel}${detail.length ? ` (${detail.join(", ")})` : ""}`;
}

/** A manifest's host in reports: "name (2 cpus, AMD EPYC, family 25 model 17 stepping 1, avx512)". */
export const hostLabel = (h: Cpus & { name: string }): string =>
  `${h.name} (${[`${h.cpus} cpus`, h.cpuModel, h.cpuId, h.vectorIsa].filter((d) => d !== undefined).join(", ")})`;

/** This machine for a benchmark's header: its CPUs (cpuSummary), memory and Node.js. */
export const machineSummary = (): string =>
  `${cpuSummary(runHost())}, ${runHost().memoryGiB.toFixed(0)} GiB, node ${process.version}`;

let cachedHost: RunEnvironment["host"] | undefined;

/** The host part of runEnvironment (no git, no package lookups). */
export function runHost(): RunEnvironment["host"] {
  if (cachedHost) return cachedHost;
  const cpu = cpus();
  cachedHost = {
    name: hostname(),
    platform: `${platform()}-${process.arch}`,
    cpus: cpu.length,
    cpuModel: cpu[0]?.model ?? "unknown",
    ...cpuDetails(readCpuinfo()),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
  };
  return cachedHost;
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
  cached = {
    package: packageVersion(join(packageRoot, "package.json")),
    onnxruntime: ort,
    node: process.versions.node,
    ...gitCheckout(),
    host: runHost(),
  };
  return cached;
}
