// Per-node profile of the method's train step (the bench's step): onnxruntime's enableProfiling trace,
// kernel time per step summed by op type and by graph part (teacher / student forward / backward by op).
// usage: npx tsx scripts/perf/profile-step.ts [resnet18w8|resnet18] [batch] [steps]
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import * as ort from "onnxruntime-node";
import { benchArtifacts, benchmarkStep, openBenchSession } from "../../src/training/benchmark.js";

const model = process.argv[2] ?? "resnet18w8";
const batch = Number(process.argv[3] ?? 64);
const steps = Number(process.argv[4] ?? 5);
const small = model === "resnet18w8";
const [channels, image] = small ? [1, 28] : [3, 32];
const sessions: ort.InferenceSession[] = [];
const create = ort.InferenceSession.create.bind(ort.InferenceSession) as (
  m: Uint8Array,
  o: ort.InferenceSession.SessionOptions,
) => Promise<ort.InferenceSession>;
(ort.InferenceSession as unknown as { create: unknown }).create = async (
  m: Uint8Array,
  o: ort.InferenceSession.SessionOptions,
) => {
  const s = await create(m, { ...o, enableProfiling: true, profileFilePrefix: `/tmp/ort-profile-${process.pid}` });
  sessions.push(s);
  return s;
};
const artifacts = await benchArtifacts({ model, channels, imageSize: image, classes: 10 });
const session = await openBenchSession({ artifacts, intraOpThreads: 2 });
const r = await benchmarkStep({
  artifacts,
  session,
  intraOpThreads: 2,
  sampleDims: [channels, image, image],
  batch,
  steps,
  repeats: 1,
  warmupRuns: 1,
});
console.log(`ms/step ${r.msPerStep.toFixed(1)} (includes profiling)`);
for (const s of sessions) {
  try {
    s.endProfiling();
  } catch {
    /* probe sessions are already released */
  }
}
const prefix = `ort-profile-${process.pid}`;
const files = readdirSync("/tmp")
  .filter((f) => f.startsWith(prefix))
  .map((f) => `/tmp/${f}`);
const file = files.sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
interface Ev {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}
const events = (JSON.parse(readFileSync(file, "utf8")) as Ev[]).filter(
  (e) => e.cat === "Node" && e.name.endsWith("_kernel_time"),
);
for (const f of files) rmSync(f);
const runs = steps + 1;
const byOp = new Map<string, number>();
const byPart = new Map<string, number>();
for (const e of events) {
  const op = e.args?.op_name ?? "?";
  const node = e.name.replace(/_kernel_time$/, "");
  byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
  const part = /teacher/i.test(node)
    ? "teacher"
    : /grad/i.test(node)
      ? `backward ${op}`
      : /sgd|momentum|update|optim/i.test(node)
        ? "update"
        : `forward ${op}`;
  byPart.set(part, (byPart.get(part) ?? 0) + e.dur);
}
const show = (m: Map<string, number>) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 18)
    .map(([k, v]) => `  ${k}: ${(v / runs / 1000).toFixed(1)} ms`)
    .join("\n");
const convGrad = events.filter((e) => /\/Conv\/grad\//.test(e.name)).reduce((a, e) => a + e.dur, 0);
const all = events.reduce((a, e) => a + e.dur, 0);
console.log(
  `kernel time per step: all ${(all / runs / 1000).toFixed(1)} ms, Conv gradients (nodes '<conv>/grad/*') ${(convGrad / runs / 1000).toFixed(1)} ms`,
);
console.log(`kernel time per step by op:\n${show(byOp)}\nby part:\n${show(byPart)}`);
await session.release();
if (process.env.TOP) {
  const byNode = new Map<string, { dur: number; op: string; shapes: string }>();
  for (const e of events as (Ev & { args?: { input_type_shape?: unknown } })[]) {
    const k = e.name.replace(/_kernel_time$/, "");
    const cur = byNode.get(k) ?? {
      dur: 0,
      op: e.args?.op_name ?? "?",
      shapes: JSON.stringify(e.args?.input_type_shape ?? ""),
    };
    cur.dur += e.dur;
    byNode.set(k, cur);
  }
  for (const [k, v] of [...byNode].sort((a, b) => b[1].dur - a[1].dur).slice(0, Number(process.env.TOP)))
    console.log(`${(v.dur / runs / 1000).toFixed(2)} ms ${v.op} ${k} ${v.shapes}`);
}
