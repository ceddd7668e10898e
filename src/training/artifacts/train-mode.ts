/**
 * Rewrites an inference graph (in place) into its training form, as PyTorch's `model.train()` runs it:
 * - BatchNormalization normalises with the batch statistics (biased variance), and the running statistics
 *   are updated in-graph the PyTorch way: `running = (1 - m) * running + m * batch`, with the UNBIASED
 *   batch variance for running_var (ONNX/ORT's own update uses the biased one). `m` is PyTorch's momentum,
 *   `1 - ` the node's ONNX momentum (default 0.9, i.e. PyTorch's 0.1).
 * - Dropout drops (training_mode = true), seeded per node so a session's masks are reproducible.
 *
 * Two forms of training-mode BatchNormalization:
 * - "node": the BN node itself with training_mode=1 (opset >= 14), differentiated by the BatchNormalization
 *   rule. ORT's CPU provider runs it; ORT's CUDA provider refuses training_mode=1 for opset >= 14.
 * - "decomposed": ReduceMean/Sub/Mul/Div/Sqrt/Add, which every provider runs, differentiated by the
 *   elementwise and reduce rules.
 * Either way the running-stat update reads batch statistics computed with ReduceMean.
 */
import { UserError } from "../../errors.js";
import { attrFloat, attrInt } from "../../onnx/attributes.js";
import type { GraphBuilder } from "../../onnx/builder.js";
import type { Dims } from "../../onnx/graph-view.js";
import { newAttribute, AttrType, type NodeProto } from "../../onnx/proto.js";
import type { Tensor } from "../../onnx/tensor.js";
import { Emitter } from "./emit.js";
import { spreadPerChannel } from "../../autograd/index.js";
import type { BatchNormStats } from "./parameters.js";

export type BatchNormForm = "node" | "decomposed";

export interface TrainModeOptions {
  opset: number;
  /** Static shapes of the forward values (probeShapes). */
  shapes: ReadonlyMap<string, Dims>;
  /** BatchNormalization nodes whose running statistics are state (from findBatchNormStats). */
  batchNorms: BatchNormStats[];
  /** Default "node" (needs opset >= 14; opset < 14 always uses "decomposed"). */
  batchNorm?: BatchNormForm;
  /** Base seed of the Dropout nodes (node k gets seed + k); default 0. */
  dropoutSeed?: number;
  /** Output name of a state tensor's updated value. */
  outputName: (state: string) => string;
}

/** state name -> value name of its updated value (the BN running statistics). */
export type StateUpdates = Map<string, string>;

export function toTrainingMode(b: GraphBuilder, opts: TrainModeOptions): StateUpdates {
  const form: BatchNormForm = opts.opset < 14 ? "decomposed" : (opts.batchNorm ?? "node");
  const updates: StateUpdates = new Map();
  const stateful = new Map(opts.batchNorms.map((s) => [s.node, s]));
  const bessel = besselFactors(b, opts.opset, opts.shapes);
  const running: RunningUpdate[] = [];
  for (const node of [...b.graph.node]) {
    if (node.opType === "BatchNormalization") {
      const stats = stateful.get(node);
      const keep = attrFloat(node, "momentum", 0.9); // read before the node form overwrites it
      const batch =
        form === "node"
          ? batchNormNode(b, node, opts.shapes, opts.opset)
          : batchNormDecomposed(b, node, opts.shapes, opts.opset);
      if (stats) {
        const e = new Emitter(b, opts.opset, `${nodeLabel(node)}/running`);
        const channels = opts.shapes.get(node.input[0]!)?.[1];
        running.push({
          e,
          stats,
          keep,
          channels,
          mean: batch.mean,
          variance: e.mul(batch.variance, bessel(node.input[0]!)),
        });
      }
    }
  }
  appendRunningUpdates(new Emitter(b, opts.opset, "batchnorm/running"), running, opts.outputName, updates);
  let k = 0;
  for (const node of b.graph.node)
    if (node.opType === "Dropout") dropoutTraining(b, node, opts.opset, (opts.dropoutSeed ?? 0) + k++);
  return updates;
}

interface BatchStats {
  mean: string;
  variance: string;
}

const nodeLabel = (n: NodeProto) => n.name || n.output[0] || "BatchNormalization";

function setAttr(node: NodeProto, name: string, value: { i?: number; f?: number }): void {
  node.attribute = node.attribute.filter((a) => a.name !== name);
  node.attribute.push(
    value.f !== undefined
      ? newAttribute({ name, type: AttrType.FLOAT, f: value.f })
      : newAttribute({ name, type: AttrType.INT, i: BigInt(value.i!) }),
  );
}

function checkSpatial(node: NodeProto): void {
  if (attrInt(node, "spatial", 1) !== 1)
    throw new UserError("BatchNormalization with spatial=0 is not supported in training", `node '${nodeLabel(node)}'`);
}

/**
 * Batch mean and biased variance over every axis but 1, kept for broadcasting ([1,C,1,..]). The node form
 * computes them too (its own running-stat outputs are not used: see batchNormNode).
 */
function batchStatistics(
  e: Emitter,
  x: string,
  rank: number,
  spread: (v: string) => string = (v) => v,
): { meanK: string; centred: string; varK: string } {
  const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
  const meanK = e.reduce("ReduceMean", x, axes, true);
  const centred = e.sub(x, spread(meanK));
  return { meanK, centred, varK: e.reduce("ReduceMean", e.mul(centred, centred), axes, true) };
}

function rankOf(node: NodeProto, shapes: ReadonlyMap<string, Dims>): number {
  const rank = shapes.get(node.input[0]!)?.length;
  if (rank === undefined || rank < 2)
    throw new UserError(
      "cannot tell the rank (>= 2) of its input to build training-mode BatchNormalization",
      `node '${nodeLabel(node)}'`,
    );
  return rank;
}

/**
 * training_mode=1, momentum 0, inputs 3 and 4 = our own batch mean and variance, outputs 1 and 2 unused.
 * ORT 1.29's CPU kernel writes its running-stat outputs in place over inputs 3 and 4: over a fed state tensor
 * it overwrites the caller's array, over constant initializers it corrupts every value ORT shares them with
 * (a fresh model's zero/one BN buffers in the teacher copy). With momentum 0 it writes back the batch
 * statistics it was given (up to rounding), which is harmless.
 */
function batchNormNode(b: GraphBuilder, node: NodeProto, shapes: ReadonlyMap<string, Dims>, opset: number): BatchStats {
  checkSpatial(node);
  const rank = rankOf(node, shapes);
  const base = nodeLabel(node);
  setAttr(node, "training_mode", { i: 1 });
  setAttr(node, "momentum", { f: 0 });
  const e = new Emitter(b, opset, `${base}/batch`);
  // the gradient rule's own statistics, spread the same way, so that the two merge (common-subexpressions.ts);
  // these are not differentiated (inputs 3 and 4 carry no gradient), so the spread changes no gradient's sums
  const spread = (v: string) => spreadPerChannel(e, v, shapes.get(node.input[0]!));
  const { meanK, varK } = batchStatistics(e, node.input[0]!, rank, spread);
  const flat = e.ints([-1], "flat");
  const stats = { mean: e.op("Reshape", [meanK, flat]), variance: e.op("Reshape", [varK, flat]) };
  node.input[3] = stats.mean;
  node.input[4] = stats.variance;
  node.output = [node.output[0]!, b.unique(`${base}/unused_running_mean`), b.unique(`${base}/unused_running_var`)];
  return stats;
}

/** Y = (X - mean) / sqrt(var + eps) * scale + bias with the batch statistics. */
function batchNormDecomposed(
  b: GraphBuilder,
  node: NodeProto,
  shapes: ReadonlyMap<string, Dims>,
  opset: number,
): BatchStats {
  checkSpatial(node);
  const [x, scale, bias] = [node.input[0]!, node.input[1]!, node.input[2]!];
  const rank = rankOf(node, shapes);
  const e = new Emitter(b, opset, nodeLabel(node));
  const channelShape = e.ints([-1, ...Array(rank - 2).fill(1)], "channel_shape");
  const { meanK, centred, varK } = batchStatistics(e, x, rank);
  const std = e.op("Sqrt", [e.add(varK, e.scalar(attrFloat(node, "epsilon", 1e-5), "epsilon"))]);
  const scaled = e.mul(e.div(centred, std), e.op("Reshape", [scale, channelShape]));
  // the BN node gives way to the decomposition, whose last node takes over its output name
  const y = node.output[0]!;
  b.graph.node.splice(b.graph.node.indexOf(node), 1);
  b.node("Add", [scaled, e.op("Reshape", [bias, channelShape])], { name: `${nodeLabel(node)}/Add_bias`, outputs: [y] });
  const flat = e.ints([-1], "flat");
  return { mean: e.op("Reshape", [meanK, flat]), variance: e.op("Reshape", [varK, flat]) };
}

/** One BN's running-statistics update: its state, its batch mean and unbiased variance, its keep factor. */
interface RunningUpdate {
  /** Emits under `<BN node>/running`. */
  e: Emitter;
  stats: BatchNormStats;
  /** 1 - PyTorch's momentum (the ONNX attribute). */
  keep: number;
  /** Static channel count, when known. */
  channels: number | string | null | undefined;
  mean: string;
  variance: string;
}

/**
 * Bessel's factor n / (n - 1), n = elements per channel = Size(X) / C, built once per distinct shape of X
 * without its channel dim (BNs at the same resolution share it).
 */
function besselFactors(b: GraphBuilder, opset: number, shapes: ReadonlyMap<string, Dims>): (x: string) => string {
  const cache = new Map<string, string>();
  return (x) => {
    const dims = shapes.get(x)!;
    const key = JSON.stringify([dims[0], ...dims.slice(2)]);
    let factor = cache.get(key);
    if (!factor) {
      const e = new Emitter(b, opset, `batchnorm/bessel_${cache.size}`);
      const n = e.div(e.op("Cast", [e.op("Size", [x])], { to: 1 }), e.scalar(dims[1] as number, "channels"));
      factor = e.div(n, e.sub(n, e.scalar(1, "one")));
      cache.set(key, factor);
    }
    return factor;
  };
}

/**
 * PyTorch's update: running = (1 - m) * running + m * batch, running_var from the unbiased variance. BNs with
 * the same momentum and static channel counts update together over the concatenation of their statistics, split
 * back into their outputs: the same float ops on each value, 10 nodes instead of 6 per BN (ResNet-18: 20 BNs).
 */
function appendRunningUpdates(
  e: Emitter,
  all: RunningUpdate[],
  outputName: (state: string) => string,
  updates: StateUpdates,
): void {
  const blend = (e: Emitter, keep: number, running: string, value: string, to?: string) =>
    e.opInto(to, "Add", [e.scale(running, keep, "keep"), e.scale(value, 1 - keep, "momentum")]);
  const byKeep = new Map<number, RunningUpdate[]>();
  for (const u of all) if (typeof u.channels === "number") byKeep.set(u.keep, [...(byKeep.get(u.keep) ?? []), u]);
  const groups = [...byKeep].filter(([, group]) => group.length >= 2);
  const grouped = new Set(groups.flatMap(([, group]) => group));
  for (const u of all.filter((u) => !grouped.has(u))) {
    updates.set(u.stats.mean, blend(u.e, u.keep, u.stats.mean, u.mean, outputName(u.stats.mean)));
    updates.set(u.stats.variance, blend(u.e, u.keep, u.stats.variance, u.variance, outputName(u.stats.variance)));
  }
  for (const [keep, group] of groups) {
    for (const stat of ["mean", "variance"] as const) {
      const outputs = group.map((u) => outputName(u.stats[stat]));
      e.overConcatenation(
        [group.map((u) => u.stats[stat]), group.map((u) => u[stat])],
        group.map((u) => u.channels as number),
        [outputs],
        ([running, batch]) => [blend(e, keep, running!, batch!)],
      );
      group.forEach((u, i) => updates.set(u.stats[stat], outputs[i]!));
    }
  }
}

function dropoutTraining(b: GraphBuilder, node: NodeProto, opset: number, seed: number): void {
  if (opset < 12) return; // opset < 12 Dropout has no training flag: it stays the identity (documented)
  const name = nodeLabel(node);
  const ratio =
    node.input[1] ||
    b.constant(`${name}/ratio`, { dtype: "float32", dims: [], data: Float32Array.of(0.5) } satisfies Tensor);
  const training = b.constant(`${name}/training_mode`, { dtype: "bool", dims: [], data: Uint8Array.of(1) });
  node.input = [node.input[0]!, ratio, training];
  if (node.output.length < 2 || !node.output[1]) node.output = [node.output[0]!, b.unique(`${name}/mask`)];
  if (attrInt(node, "seed") === undefined) setAttr(node, "seed", { i: seed });
}
