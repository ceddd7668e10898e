/**
 * Node counts of the backward pass the engine generates for ONNX classifiers: forward nodes, backward
 * nodes by op type, and how many forward values the backward reads (activations it reuses, never recomputes).
 * Loss: ReduceSum of the logits; wrt: the parameters findParameters picks.
 *   npx tsx scripts/autograd-node-counts.ts test/fixtures/pytorch/*.onnx
 */
import { basename } from "node:path";
import { appendBackward } from "../src/autograd/engine.js";
import { GraphBuilder } from "../src/onnx/builder.js";
import { loadModel } from "../src/onnx/model-io.js";
import { opsetVersion } from "../src/onnx/proto.js";
import { findParameters } from "../src/training/artifacts/parameters.js";

for (const file of process.argv.slice(2)) {
  const model = loadModel(file);
  const g = model.proto.graph!;
  const forward = new Set(g.node.flatMap((n) => n.output));
  const before = g.node.length;
  const wrt = findParameters(g);
  new GraphBuilder(g).node("ReduceSum", [g.output[0]!.name], {
    name: "loss",
    outputs: ["loss"],
    attrs: { keepdims: 0 },
  });
  const t0 = performance.now();
  appendBackward(g, { loss: "loss", wrt, opset: opsetVersion(model.proto)! });
  const ms = performance.now() - t0;
  const added = g.node.slice(before + 1);
  const byOp = new Map<string, number>();
  for (const n of added) byOp.set(n.opType, (byOp.get(n.opType) ?? 0) + 1);
  const reused = new Set(added.flatMap((n) => n.input).filter((i) => forward.has(i)));
  const ops = [...byOp]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  console.log(
    `| ${basename(file)} | ${before} | ${wrt.length} | ${added.length} | ${reused.size} | ${ms.toFixed(0)} ms | ${ops} |`,
  );
}
