/**
 * Numeric gradient check of one op's rule (HIPS autograd style): a one-node model, a loss L = sum_k <u_k, Y_k>
 * with random projections u_k, the backward from appendBackward, all run by onnxruntime-node; then
 * <v, dL/dx> must match the central difference (L(x + e v) - L(x - e v)) / 2e for one random direction v
 * over every differentiable input at once. Seeded: a case always draws the same numbers.
 */
import * as ort from "onnxruntime-node";
import seedrandom from "seedrandom";
import { appendBackward } from "../../src/autograd/engine.js";
import type { Dims } from "../../src/onnx/graph-view.js";
import {
  encodeModel,
  newGraph,
  newModel,
  newNode,
  newOpset,
  newTensorValueInfo,
  type GraphProto,
  type NodeProto,
} from "../../src/onnx/proto.js";
import { makeAttributes, type Attrs } from "../../src/onnx/attributes.js";
import { makeTensorProto, numel, onnxFromDtype, type DType, type Tensor } from "../../src/onnx/tensor.js";

export interface GradCheckInput {
  name?: string;
  dims: number[];
  /** Default: the case's `dtype` for floats. Integer inputs need `values` and become initializers. */
  dtype?: "float32" | "float64" | "int64" | "int32" | "bool";
  values?: number[];
  /** Whether to check the gradient of this float input (default true). */
  diff?: boolean;
  /** Range of the random values (default [-1, 1]); keep clear of singularities (Log, Sqrt, Div). */
  range?: [number, number];
  /** Leaves the optional input out (an empty name in the node's input list). */
  omit?: boolean;
  /** Float input given as an initializer (a constant) instead of a graph input; implies diff: false. */
  constant?: boolean;
}

export interface GradCheckCase {
  op: string;
  attrs?: Attrs;
  /** Default 17. */
  opset?: number;
  inputs: GradCheckInput[];
  /** Number of node outputs (default 1); the loss projects every float output. */
  outputs?: number;
  /** Outputs that enter the loss (default: every float output); the others get no gradient. */
  lossOutputs?: number[];
  /** Relative tolerance on |numeric - analytic| / scale, scale = sum |u * Y| (default derived from dtype). */
  tol?: number;
  /** Bound on the op's |third derivative| over the sampled inputs, for the truncation error (default 100). */
  m3?: number;
  /** Element type of float inputs without their own dtype (default float64; float32 where ORT lacks float64). */
  dtype?: "float32" | "float64";
  /**
   * "static": declared input shapes and a shapes map (default); "runtime": no shapes, runtime Shape paths;
   * "symbolic": input shapes with dim 0 named "N" (a batch dim) and nothing else, as an export declares them.
   */
  shapes?: "static" | "runtime" | "symbolic";
  /** Central-difference step (default 4e-3 in float32, 1e-5 in float64). */
  step?: number;
  seed?: string;
}

const UNIT_ROUNDOFF = { float32: 2 ** -24, float64: 2 ** -53 };
const STEP = { float32: 4e-3, float64: 1e-5 };

type Rng = () => number;
const uniform = (rng: Rng, n: number, [lo, hi]: [number, number]) =>
  Array.from({ length: n }, () => lo + (hi - lo) * rng());

function hostTensor(dtype: DType, dims: number[], values: number[]): Tensor {
  switch (dtype) {
    case "float32":
      return { dtype, dims, data: Float32Array.from(values) };
    case "float64":
      return { dtype, dims, data: Float64Array.from(values) };
    case "int64":
      return { dtype, dims, data: BigInt64Array.from(values.map((v) => BigInt(v))) };
    case "int32":
      return { dtype, dims, data: Int32Array.from(values) };
    case "bool":
      return { dtype, dims, data: Uint8Array.from(values) };
    default:
      throw new Error(`gradcheck: unsupported dtype ${dtype}`);
  }
}

const ortTensor = (t: Tensor) => new ort.Tensor(t.dtype as "float32", t.data as Float32Array, t.dims);

async function session(graph: GraphProto, opset: number): Promise<ort.InferenceSession> {
  const model = newModel({ irVersion: 9n, opsetImport: [newOpset("", opset)], producerName: "gradcheck", graph });
  return ort.InferenceSession.create(encodeModel(model), { logSeverityLevel: 3 });
}

interface Prepared {
  name: string;
  spec: GradCheckInput;
  tensor: Tensor;
  feed: boolean;
  diff: boolean;
}

/** Runs the check on one node; throws an Error with the numbers when the gradient is off. */
export async function checkGradient(c: GradCheckCase): Promise<void> {
  const inputs = c.inputs.map((spec, i) => ({ ...spec, name: spec.omit ? "" : (spec.name ?? `x${i}`) }));
  const outputs = Array.from({ length: c.outputs ?? 1 }, (_, k) => `y${k}`);
  const node = newNode({
    opType: c.op,
    name: c.op.toLowerCase(),
    input: inputs.map((x) => x.name),
    output: outputs,
    attribute: makeAttributes(c.attrs),
  });
  const label = `${c.op} (opset ${c.opset ?? 17}, ${JSON.stringify(c.attrs ?? {})})`;
  await checkGraphGradient({ ...c, label, nodes: [node], inputs, outputs, seed: c.seed ?? JSON.stringify(c) });
}

export interface GraphCheckCase {
  /** For messages. */
  label: string;
  /** Forward nodes; every input they read is in `inputs` (fed, or a constant) or produced by another node. */
  nodes: NodeProto[];
  inputs: (GradCheckInput & { name: string })[];
  /** Node outputs projected into the loss. */
  outputs: string[];
  lossOutputs?: number[];
  opset?: number;
  dtype?: "float32" | "float64";
  /** As GradCheckCase; "probe" also gives the engine every intermediate shape from a forward run. */
  shapes?: "static" | "runtime" | "symbolic" | "probe";
  tol?: number;
  m3?: number;
  /** Central-difference step (default 4e-3 in float32, 1e-5 in float64). */
  step?: number;
  seed?: string;
}

/** The same check over a small graph (a block of a model): every differentiable input at once. */
export async function checkGraphGradient(c: GraphCheckCase): Promise<void> {
  const opset = c.opset ?? 17;
  const floatType = c.dtype ?? "float64";
  const rng = seedrandom(c.seed ?? c.label);
  const inputs: Prepared[] = c.inputs.map((spec, i) => {
    const dtype = spec.dtype ?? floatType;
    const isFloat = dtype === "float32" || dtype === "float64";
    if (!isFloat && !spec.values && !spec.omit) throw new Error(`gradcheck: integer input ${i} needs values`);
    const values = spec.values ?? uniform(rng, numel(spec.dims), spec.range ?? [-1, 1]);
    const feed = isFloat && !spec.constant && !spec.omit;
    return {
      name: spec.name,
      spec,
      tensor: hostTensor(dtype, spec.dims, values),
      feed,
      diff: feed && spec.diff !== false,
    };
  });
  const outNames = c.outputs;
  const runtime = c.shapes === "runtime";
  const symbolic = c.shapes === "symbolic";
  const declared = (d: number[]) => (runtime ? undefined : symbolic ? d.map((v, i) => (i === 0 ? "N" : v)) : d);
  const forward = (): GraphProto =>
    newGraph({
      name: "gradcheck",
      node: [...c.nodes],
      input: inputs
        .filter((x) => x.feed)
        .map((x) => newTensorValueInfo(x.name, onnxFromDtype(x.tensor.dtype), declared(x.tensor.dims))),
      initializer: inputs.filter((x) => !x.feed && !x.spec.omit).map((x) => makeTensorProto(x.name, x.tensor)),
    });
  const feeds = (shift = 0, v?: number[][]) =>
    Object.fromEntries(
      inputs
        .filter((x) => x.feed)
        .map((x) => {
          const k = inputs.filter((y) => y.diff).indexOf(x);
          const data = Array.from(x.tensor.data as Float64Array, (val, j) =>
            k >= 0 && v ? val + shift * v[k]![j]! : val,
          );
          return [x.name, ortTensor(hostTensor(x.tensor.dtype, x.tensor.dims, data))];
        }),
    );

  // 1. forward alone, for the output shapes and types (and, for "probe", every intermediate shape)
  const probed = c.shapes === "probe" ? [...new Set(c.nodes.flatMap((n) => n.output.filter((o) => o)))] : outNames;
  const fwd = await (await session(withUntypedOutputs(forward(), probed), opset)).run(feeds());
  const floatOuts = outNames.filter(
    (o, k) => (fwd[o]!.type === "float32" || fwd[o]!.type === "float64") && (c.lossOutputs?.includes(k) ?? true),
  );

  // 2. loss = sum_k ReduceSum(Y_k * u_k), then the backward
  const g = forward();
  const projections = floatOuts.map((o) => {
    const y = fwd[o]!;
    const u = uniform(rng, y.size, [-1, 1]);
    g.initializer.push(makeTensorProto(`u_${o}`, hostTensor(y.type as DType, [...y.dims], u)));
    g.node.push(newNode({ opType: "Mul", name: `proj_${o}`, input: [o, `u_${o}`], output: [`p_${o}`] }));
    g.node.push(
      newNode({
        opType: "ReduceSum",
        name: `sum_${o}`,
        input: [`p_${o}`],
        output: [`s_${o}`],
        attribute: makeAttributes({ keepdims: 0 }),
      }),
    );
    return { o, u, y: Array.from(y.data as Float64Array) };
  });
  g.node.push(newNode({ opType: "Sum", name: "loss", input: floatOuts.map((o) => `s_${o}`), output: ["loss"] }));
  const shapes = new Map<string, Dims>(
    runtime ? [] : [...probed.map((o) => [o, [...fwd[o]!.dims]] as [string, Dims]), ["loss", []]],
  );
  const diffs = inputs.filter((x) => x.diff);
  const grads = appendBackward(g, {
    loss: "loss",
    wrt: diffs.map((x) => x.name),
    opset,
    shapes: runtime || symbolic ? undefined : shapes,
  });
  g.output = [
    newTensorValueInfo("loss", onnxFromDtype(floatType)),
    ...diffs.map((x) => newTensorValueInfo(grads.get(x.name)!, onnxFromDtype(x.tensor.dtype))),
  ];
  const sess = await session(g, opset);
  const at = await sess.run(feeds());

  // 3. compare <v, grad> with the central difference along v
  const v = diffs.map((x) => uniform(rng, numel(x.tensor.dims), [-1, 1]));
  let analytic = 0;
  diffs.forEach((x, k) => {
    const gx = at[grads.get(x.name)!]!;
    if (gx.dims.join(",") !== x.tensor.dims.join(",")) {
      throw new Error(`${c.label}: gradient of '${x.name}' has shape [${gx.dims}], expected [${x.tensor.dims}]`);
    }
    (gx.data as Float64Array).forEach((gv, j) => (analytic += gv * v[k]![j]!));
  });
  const dtype = diffs.some((x) => x.tensor.dtype === "float32") ? "float32" : "float64";
  const e = c.step ?? STEP[dtype];
  const lossAt = async (shift: number) => Number((await sess.run(feeds(shift, v), ["loss"]))["loss"]!.data[0]);
  const numeric = ((await lossAt(e)) - (await lossAt(-e))) / (2 * e);
  const scale = projections.reduce((s, p) => s + p.y.reduce((t, y, j) => t + Math.abs(y * p.u[j]!), 0), 0) || 1;
  const sumU = projections.reduce((s, p) => s + p.u.reduce((t, u) => t + Math.abs(u), 0), 0);
  const terms = projections.reduce((s, p) => s + p.u.length, 0);
  // truncation: e^2/6 |L'''(t)| <= e^2/6 * m3 * sum|u|  (|v| <= 1, m3 bounds the op's third derivative);
  // rounding: each loss evaluation is off by ~ sqrt(terms) * unit roundoff * scale; the quotient divides by 2e
  const tol =
    c.tol !== undefined
      ? c.tol * scale
      : (e * e * (c.m3 ?? 100) * sumU) / 6 + (4 * Math.sqrt(terms) * UNIT_ROUNDOFF[dtype] * scale) / e;
  const err = Math.abs(numeric - analytic);
  if (process.env.GRADCHECK_VERBOSE)
    console.log(
      `${c.label}: analytic ${analytic} numeric ${numeric} err ${err.toExponential(2)} tol ${tol.toExponential(2)} scale ${scale.toExponential(2)}`,
    );
  if (!(err <= tol)) {
    throw new Error(
      `${c.label}: <v, grad> = ${analytic}, central difference = ${numeric}, |diff| = ${err.toExponential(3)} > tol ${tol.toExponential(3)}`,
    );
  }
}

/** ORT infers output types itself; declaring a wrong one (a bool mask as float) would fail the load. */
function withUntypedOutputs(g: GraphProto, outs: string[]): GraphProto {
  g.output = outs.map((o) => Object.assign(newTensorValueInfo(o, 0), { type: undefined }));
  return g;
}
