// What the second core gives on this machine, outside our graphs: one large GEMM (compute-bound) in onnxruntime
// and in PyTorch, at 1 and 2 threads, the thread counts alternated round by round (ms per GEMM; onnxruntime runs
// a chain of them per run, so the run's own cost, which includes page faults for its output, is spread thin).
// A step cannot scale better than its kernels do on the same machine.
//   npx tsx scripts/perf/machine-scaling.ts [rounds] [python]
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import * as ort from "onnxruntime-node";
import { GraphBuilder } from "../../src/onnx/builder.js";
import { encodeModel, newGraph, newModel, newOpset } from "../../src/onnx/proto.js";

const [roundsArg = "10", python = "/usr/bin/python3"] = process.argv.slice(2);
const rounds = Number(roundsArg);
const N = 1024; // GEMM N x N x N
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;

/** CHAIN ops in a row (each reads the previous result), so one run times the kernels, not the run's overhead. */
const CHAIN = 8;
function model(dims: number[]): Uint8Array {
  const g = new GraphBuilder(newGraph({ name: "gemm" }));
  g.addInput("a", "float32", dims);
  g.addInput("b", "float32", dims);
  let x = "a";
  for (let i = 1; i < CHAIN; i++) x = g.op("MatMul", [x, "b"]);
  g.node("MatMul", [x, "b"], { outputs: ["c"] });
  g.addOutput("c", "float32", dims);
  return encodeModel(newModel({ irVersion: 8n, opsetImport: [newOpset("", 17)], graph: g.graph }));
}

async function onnxruntime(dims: number[]): Promise<[number, number]> {
  const size = dims.reduce((a, b) => a * b);
  const feeds = {
    a: new ort.Tensor("float32", new Float32Array(size).fill(0.5), dims),
    b: new ort.Tensor("float32", new Float32Array(size).fill(0.25), dims),
  };
  const sessions = await Promise.all(
    [1, 2].map((t) =>
      ort.InferenceSession.create(model(dims), {
        intraOpNumThreads: t,
        interOpNumThreads: 1,
        extra: { session: { intra_op: { allow_spinning: "0" } } },
      } as ort.InferenceSession.SessionOptions),
    ),
  );
  // the output written into one preallocated array (a fresh one per run costs page faults, not arithmetic)
  const fetches = { c: new ort.Tensor("float32", new Float32Array(size), dims) };
  const ms: number[][] = [[], []];
  for (const s of sessions) for (let i = 0; i < 3; i++) await s.run(feeds, fetches);
  for (let r = 0; r < rounds; r++)
    for (const [k, s] of sessions.entries()) {
      const t0 = performance.now();
      for (let i = 0; i < 5; i++) await s.run(feeds, fetches);
      ms[k]!.push((performance.now() - t0) / 5 / CHAIN);
    }
  await Promise.all(sessions.map((s) => s.release()));
  return [median(ms[0]!), median(ms[1]!)];
}

const torchCode = `
import json, time, torch
N, rounds = ${N}, ${rounds}
a, b, c = torch.full((N, N), 0.5), torch.full((N, N), 0.25), torch.empty((N, N))
for t in (1, 2):
    torch.set_num_threads(t); [torch.mm(a, b, out=c) for _ in range(3)]
ms = {1: [], 2: []}
for r in range(rounds):
    for t in (1, 2):
        torch.set_num_threads(t); t0 = time.perf_counter()
        for _ in range(5): torch.mm(a, b, out=c)
        ms[t].append((time.perf_counter() - t0) / 5 * 1000)
print(json.dumps([sorted(ms[1])[rounds // 2], sorted(ms[2])[rounds // 2]]))
`;

const load0 = loadavg()[0]!;
const [o1, o2] = await onnxruntime([N, N]);
const py = spawnSync(python, ["-c", torchCode], { encoding: "utf8" });
const torch = py.status === 0 ? (JSON.parse(py.stdout) as [number, number]) : undefined;
console.log(
  `${new Date().toISOString()}, ${rounds} alternated rounds, load ${load0.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)}`,
);
console.log("| kernel | onnxruntime ms at 1 / 2 threads | scaling | PyTorch ms at 1 / 2 threads | scaling |");
console.log("|---|---|---|---|---|");
const torchCells = torch
  ? `${torch[0].toFixed(1)} / ${torch[1].toFixed(1)} | ${(torch[0] / torch[1]).toFixed(2)}x`
  : "- | -";
console.log(`| GEMM ${N}x${N}x${N} | ${o1.toFixed(1)} / ${o2.toFixed(1)} | ${(o1 / o2).toFixed(2)}x | ${torchCells} |`);
if (!torch) console.log(`(PyTorch not timed: ${python} failed: ${py.stderr.trim().split("\n").at(-1)})`);
