// What a broadcast's span length costs in onnxruntime's CPU elementwise ops: a chain of Muls of an activation- or
// weight-shaped tensor by a smaller operand, in the shape our graphs used before (a rank-0 scalar; a per-channel
// [1, C, 1, 1] operand) and in the shape they use now (a scalar of the tensor's rank; the operand expanded to
// [1, C, H, W]), each form in its own session, alternated round by round; microseconds per Mul, medians.
// (docs/PERFORMANCE.md, fifth session of 2026-11-30; autograd/emit.ts SHORT_SPAN)
//   npx tsx scripts/perf/broadcast-spans.ts [rounds] [threads]
import { loadavg } from "node:os";
import * as ort from "onnxruntime-node";
import { GraphBuilder } from "../../src/onnx/builder.js";
import { encodeModel, newGraph, newModel, newOpset } from "../../src/onnx/proto.js";

const [roundsArg = "5", threadsArg = "1,2"] = process.argv.slice(2);
const rounds = Number(roundsArg);
const CHAIN = 8;
const RUNS = 20;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;

/** x [dims] times k [kDims], CHAIN times in a row. */
function model(dims: number[], kDims: number[]): Uint8Array {
  const g = new GraphBuilder(newGraph({ name: "spans" }));
  g.addInput("x", "float32", dims);
  g.addInput("k", "float32", kDims);
  let y = "x";
  for (let i = 1; i < CHAIN; i++) y = g.op("Mul", [y, "k"]);
  g.node("Mul", [y, "k"], { outputs: ["y"] });
  g.addOutput("y", "float32", dims);
  return encodeModel(newModel({ irVersion: 8n, opsetImport: [newOpset("", 17)], graph: g.graph }));
}

const cases: { what: string; dims: number[]; before: number[]; after: number[] }[] = [
  { what: "SGD scalar, 1x1 conv weight", dims: [512, 256, 1, 1], before: [], after: [1, 1, 1, 1] },
  { what: "SGD scalar, 3x3 conv weight", dims: [512, 512, 3, 3], before: [], after: [1, 1, 1, 1] },
  { what: "ReLU zero, 1x1 map", dims: [64, 512, 1, 1], before: [], after: [1, 1, 1, 1] },
  ...[
    [512, 1],
    [256, 2],
    [128, 4],
    [64, 8],
    [64, 16],
  ].map(([c, h]) => ({
    what: h === 1 ? "BatchNorm per-channel, 1x1 map (no change: the control)" : `BatchNorm per-channel, ${h}x${h} map`,
    dims: [64, c!, h!, h!],
    before: [1, c!, 1, 1],
    after: [1, c!, h!, h!],
  })),
];

const fill = (dims: number[], v: number) => new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(v);
console.log(`${new Date().toISOString()} ${CHAIN} Muls per run, ${RUNS} runs per round, ${rounds} rounds`);
console.log("| case | x | threads | before: k shape, us per Mul | after: k shape, us per Mul | ratio | load |");
console.log("|---|---|---|---|---|---|---|");
for (const threads of threadsArg.split(",").map(Number))
  for (const c of cases) {
    const load0 = loadavg()[0]!;
    const forms = await Promise.all(
      [c.before, c.after].map(async (kDims) => ({
        session: await ort.InferenceSession.create(model(c.dims, kDims), {
          intraOpNumThreads: threads,
          interOpNumThreads: 1,
        }),
        feeds: {
          x: new ort.Tensor("float32", fill(c.dims, 1), c.dims),
          k: new ort.Tensor("float32", fill(kDims, 1), kDims),
        },
        us: [] as number[],
      })),
    );
    for (const f of forms) await f.session.run(f.feeds);
    for (let r = 0; r < rounds; r++)
      for (const f of r % 2 ? [...forms].reverse() : forms) {
        const t0 = performance.now();
        for (let i = 0; i < RUNS; i++) await f.session.run(f.feeds);
        f.us.push(((performance.now() - t0) * 1000) / RUNS / CHAIN);
      }
    const [b, a] = forms.map((f) => median(f.us));
    const shape = (d: number[]) => `[${d.join(", ")}]`;
    console.log(
      `| ${c.what} | ${shape(c.dims)} | ${threads} | ${shape(c.before)}: ${b!.toFixed(0)} | ${shape(c.after)}: ` +
        `${a!.toFixed(0)} | ${(b! / a!).toFixed(2)}x | ${load0.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)} |`,
    );
    await Promise.all(forms.map((f) => f.session.release()));
  }
