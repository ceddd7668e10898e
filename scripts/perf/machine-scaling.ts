// What the second core gives on this machine, outside our graphs: one large GEMM (compute-bound), elementwise
// ops on the activation shapes of ResNet-18's train step on 32x32 inputs (the stem's output, layer1, layer2 and
// layer3 at batch 64, the stem's and layer1's at 256), and the transpose the dense convs of layer3 need ([N, 4,
// 256] -> [N, 256, 4]), in onnxruntime and in PyTorch, at 1 and 2 threads, the thread counts alternated round by
// round (us per op; onnxruntime runs a chain of ops per run, with graph optimisations off so that it keeps
// them all, PyTorch writes into a preallocated output, so neither side times allocation). A step cannot scale
// better than its kernels do on the same machine.
//   npx tsx scripts/perf/machine-scaling.ts [rounds] [python]
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import * as ort from "onnxruntime-node";
import { GraphBuilder } from "../../src/onnx/builder.js";
import { encodeModel, newGraph, newModel, newOpset } from "../../src/onnx/proto.js";

const [roundsArg = "10", python = "/usr/bin/python3"] = process.argv.slice(2);
const rounds = Number(roundsArg);
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;

interface Kernel {
  label: string;
  /** The ONNX op (binary: both inputs the same shape; Transpose: the last two axes swapped) and PyTorch's. */
  op: "MatMul" | "Mul" | "Add" | "Transpose";
  torch: string;
  dims: number[];
  /** Ops per chain (one onnxruntime run) and chains per timed round. */
  chain: number;
  runs: number;
}

const gemm = 1024;
const elementwise = (op: "Mul" | "Add", dims: number[], what: string): Kernel => ({
  label: `${op} ${what} [${dims.join(", ")}]`,
  op,
  torch: op === "Mul" ? "torch.mul" : "torch.add",
  dims,
  chain: 32,
  runs: 10,
});
const kernels: Kernel[] = [
  { label: `GEMM ${gemm}x${gemm}x${gemm}`, op: "MatMul", torch: "torch.mm", dims: [gemm, gemm], chain: 8, runs: 5 },
  elementwise("Mul", [64, 64, 16, 16], "stem, batch 64"),
  elementwise("Mul", [64, 64, 8, 8], "layer1, batch 64"),
  elementwise("Mul", [64, 128, 4, 4], "layer2, batch 64"),
  elementwise("Mul", [64, 256, 2, 2], "layer3, batch 64"),
  elementwise("Add", [64, 64, 8, 8], "layer1, batch 64"),
  elementwise("Mul", [256, 64, 16, 16], "stem, batch 256"),
  elementwise("Mul", [256, 64, 8, 8], "layer1, batch 256"),
  ...[64, 256].map((n) => ({
    label: `Transpose dense conv, batch ${n} [${n}, 4, 256] -> [${n}, 256, 4]`,
    op: "Transpose" as const,
    torch: "transpose",
    dims: [n, 4, 256],
    chain: 32,
    runs: 10,
  })),
];

/** `chain` ops in a row (each reads the previous result), so one run times the kernels, not the run's overhead. */
function model(k: Kernel): Uint8Array {
  const g = new GraphBuilder(newGraph({ name: "chain" }));
  g.addInput("a", "float32", k.dims);
  g.addInput("b", "float32", k.dims);
  // a Transpose chain swaps back and forth (an even chain ends in the input's shape)
  const inputs = (x: string) => (k.op === "Transpose" ? [x] : [x, "b"]);
  const attrs = k.op === "Transpose" ? { perm: [0, 2, 1] } : undefined;
  let x = "a";
  for (let i = 1; i < k.chain; i++) x = g.op(k.op, inputs(x), attrs);
  g.node(k.op, inputs(x), { outputs: ["c"], attrs });
  g.addOutput("c", "float32", k.dims);
  return encodeModel(newModel({ irVersion: 8n, opsetImport: [newOpset("", 17)], graph: g.graph }));
}

/** Median us per op at 1 and 2 threads. */
async function onnxruntime(k: Kernel): Promise<[number, number]> {
  const size = k.dims.reduce((a, b) => a * b);
  // b = 1 for the elementwise ops keeps the chain's values where they started (x * 1, and x + 1 stays finite)
  const feeds = {
    a: new ort.Tensor("float32", new Float32Array(size).fill(0.5), k.dims),
    b: new ort.Tensor("float32", new Float32Array(size).fill(k.op === "MatMul" ? 0.25 / gemm : 1), k.dims),
  };
  const sessions = await Promise.all(
    [1, 2].map((t) =>
      ort.InferenceSession.create(model(k), {
        intraOpNumThreads: t,
        interOpNumThreads: 1,
        graphOptimizationLevel: "disabled",
        extra: { session: { intra_op: { allow_spinning: "0" } } },
      } as ort.InferenceSession.SessionOptions),
    ),
  );
  // the output written into one preallocated array (a fresh one per run costs page faults, not arithmetic)
  const fetches = { c: new ort.Tensor("float32", new Float32Array(size), k.dims) };
  const us: number[][] = [[], []];
  for (const s of sessions) for (let i = 0; i < 3; i++) await s.run(feeds, fetches);
  for (let r = 0; r < rounds; r++)
    for (const [i, s] of sessions.entries()) {
      const t0 = performance.now();
      for (let j = 0; j < k.runs; j++) await s.run(feeds, fetches);
      us[i]!.push(((performance.now() - t0) * 1000) / k.runs / k.chain);
    }
  await Promise.all(sessions.map((s) => s.release()));
  return [median(us[0]!), median(us[1]!)];
}

const torchCode = `
import json, sys, time, torch
rounds, kernels = ${rounds}, json.loads(sys.argv[1])
out = []
for k in kernels:
    a, b, c = torch.full(k["dims"], 0.5), torch.full(k["dims"], 1.0), torch.empty(k["dims"])
    if k["torch"] == "transpose":
        c = torch.empty(k["dims"][0], k["dims"][2], k["dims"][1])
        f = lambda a, b, out: out.copy_(a.transpose(1, 2))
    else:
        f = {"torch.mm": torch.mm, "torch.mul": torch.mul, "torch.add": torch.add}[k["torch"]]
    n = k["chain"] * k["runs"]
    for t in (1, 2):
        torch.set_num_threads(t); [f(a, b, out=c) for _ in range(3)]
    us = {1: [], 2: []}
    for r in range(rounds):
        for t in (1, 2):
            torch.set_num_threads(t); t0 = time.perf_counter()
            for _ in range(n): f(a, b, out=c)
            us[t].append((time.perf_counter() - t0) / n * 1e6)
    out.append([sorted(us[1])[rounds // 2], sorted(us[2])[rounds // 2]])
print(json.dumps(out))
`;

const load0 = loadavg()[0]!;
const ours: [number, number][] = [];
for (const k of kernels) ours.push(await onnxruntime(k));
const py = spawnSync(python, ["-c", torchCode, JSON.stringify(kernels)], { encoding: "utf8" });
const torch = py.status === 0 ? (JSON.parse(py.stdout) as [number, number][]) : undefined;
console.log(
  `${new Date().toISOString()}, ${rounds} alternated rounds, load ${load0.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)}`,
);
console.log("| kernel | onnxruntime us at 1 / 2 threads | scaling | PyTorch us at 1 / 2 threads | scaling |");
console.log("|---|---|---|---|---|");
const cells = ([a, b]: [number, number]) => `${a.toFixed(1)} / ${b.toFixed(1)} | ${(a / b).toFixed(2)}x`;
kernels.forEach((k, i) => console.log(`| ${k.label} | ${cells(ours[i]!)} | ${torch ? cells(torch[i]!) : "- | -"} |`));
if (!torch) console.log(`(PyTorch not timed: ${python} failed: ${py.stderr.trim().split("\n").at(-1)})`);
