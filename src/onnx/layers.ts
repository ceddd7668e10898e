/**
 * Layer inventory: the parameterised layers of a model in graph order, each grouping the nodes and
 * initializers one PyTorch module would own (Conv/ConvTranspose/Gemm/MatMul (its weight directly or through a
 * Transpose, as a preserve export writes nn.Linear) with its bias and the
 * BatchNormalization right after it; a standalone BatchNormalization, LayerNormalization,
 * InstanceNormalization or GroupNormalization; a LayerNorm decomposed into ReduceMean/Sub/Div/Mul/Add as exports
 * before opset 17 write it), with a role from graph structure alone (roles in
 * layer-roles.ts). Initializer names are not trusted: BN-folded exports call convs `onnx::Conv_192`.
 * Initializers the exporter tied with Identity nodes are untied first (tied-initializers.ts).
 */
import { attrInt, attrInts } from "./attributes.js";
import { GraphView } from "./graph-view.js";
import type { ModelFile } from "./model-io.js";
import {
  DataType,
  opsetVersion,
  valueInfoDims,
  valueInfoElemType,
  type ModelProto,
  type NodeProto,
  type ValueInfoProto,
} from "./proto.js";
import { dtypeFromOnnx, numel, type DType } from "./tensor.js";
import { assignRoles, WEIGHTED } from "./layer-roles.js";
import { untieInitializers } from "./tied-initializers.js";

export type LayerRole = "classifier" | "shortcut" | "body";
export type ParamKind = "weight" | "bias" | "bn-scale" | "bn-bias" | "bn-mean" | "bn-var" | "norm-scale" | "norm-bias";

export interface LayerParam {
  /** Initializer name. */
  name: string;
  kind: ParamKind;
  dims: number[];
  dtype?: DType;
  numel: number;
}

export interface Layer {
  /** PyTorch-style module name (`layer1.0.conv1`), from the weight's name or the node's scope. */
  name: string;
  /** Op of the layer's first node: Conv, ConvTranspose, Gemm, MatMul, BatchNormalization, LayerNormalization, ... */
  op: string;
  /** Names of the layer's nodes in order (`op:output` for an unnamed node). */
  nodes: string[];
  params: LayerParam[];
  /** Elements in all the layer's initializers (BatchNormalization running statistics included). */
  numel: number;
  role: LayerRole;
  /** Whether unlearning re-initialises this layer (by default: body layers only). */
  reinit: boolean;
  /** For the weight: what PyTorch's init uses (`fan_in` of kaiming_uniform, bias bound 1/sqrt(fanIn)). */
  fanIn?: number;
  fanOut?: number;
  /** Conv kernel spatial shape and groups (depthwise convs have groups == channels). */
  kernelShape?: number[];
  groups?: number;
  /** The activation the layer reads and the value its last node produces. */
  input: string;
  output: string;
}

export interface ValueDesc {
  name: string;
  dtype: string;
  dims?: (number | string | null)[];
}

export interface Inventory {
  inputs: ValueDesc[];
  outputs: ValueDesc[];
  opset: number;
  layers: Layer[];
}

export interface InventoryOptions {
  /** Roles whose layers are re-initialisation candidates (default ["body"]). */
  reinitRoles?: LayerRole[];
}

const NORM_KINDS: Record<string, ParamKind[]> = {
  BatchNormalization: ["bn-scale", "bn-bias", "bn-mean", "bn-var"],
  LayerNormalization: ["norm-scale", "norm-bias"],
  InstanceNormalization: ["norm-scale", "norm-bias"],
  GroupNormalization: ["norm-scale", "norm-bias"],
};

export const nodeLabel = (n: NodeProto): string => n.name || `${n.opType}:${n.output[0] ?? ""}`;

/** The parameterised layers of the model's main graph, in graph order, with roles. */
export function layerInventory(model: ModelFile | ModelProto, opts: InventoryOptions = {}): Inventory {
  const proto = "proto" in model ? model.proto : model;
  // a TorchScript export's merged initializers count as the separate parameters they are in PyTorch
  const graph = untieInitializers(proto.graph!);
  const view = new GraphView(graph);
  const order = view.topoOrder();
  const inits = new Map(graph.initializer.map((t) => [t.name, t]));
  const isInit = (v: string) => inits.has(v);
  const param = (name: string, kind: ParamKind): LayerParam => {
    const t = inits.get(name)!;
    const dims = t.dims.map(Number);
    return { name, kind, dims, dtype: dtypeFromOnnx(t.dataType), numel: numel(dims) };
  };
  const soleConsumer = (value: string, op: string): NodeProto | undefined => {
    const cs = view.consumersOf(value);
    return cs.length === 1 && cs[0]!.opType === op && !view.outputNames.includes(value) ? cs[0] : undefined;
  };

  const claimed = new Set<NodeProto>();
  const layers: Layer[] = [];
  const nodesOf = new Map<Layer, NodeProto[]>();
  for (const n of order) {
    if (claimed.has(n)) continue;
    const layer = WEIGHTED.has(n.opType)
      ? weightedLayer(n)
      : NORM_KINDS[n.opType]
        ? normLayer(n, [])
        : n.opType === "Mul"
          ? decomposedLayerNorm(n)
          : undefined;
    if (layer) layers.push(layer);
  }

  /**
   * A LayerNorm exported before opset 17: ReduceMean -> Sub -> (Pow, ReduceMean, Add eps, Sqrt) -> Div, then
   * Mul by the weight and Add of the bias (1-D initializers). Found from its Mul.
   */
  function decomposedLayerNorm(mul: NodeProto): Layer | undefined {
    const weight = mul.input.find((i) => isInit(i) && inits.get(i)!.dims.length === 1);
    const div = view.producer.get(mul.input.find((i) => i !== weight) ?? "");
    const sub = div?.opType === "Div" ? view.producer.get(div.input[0]!) : undefined;
    const mean = sub?.opType === "Sub" ? view.producer.get(sub.input[1]!) : undefined;
    if (!weight || !mean || mean.opType !== "ReduceMean" || mean.input[0] !== sub!.input[0]) return undefined;
    if ([mean, sub!, div!].some((m) => claimed.has(m))) return undefined;
    const params = [param(weight, "norm-scale")];
    const nodes = [mean, sub!, div!, mul];
    let out = mul.output[0]!;
    const add = soleConsumer(out, "Add");
    const bias = add?.input.find((i) => i !== out && isInit(i) && inits.get(i)!.dims.length === 1);
    if (add && bias) {
      params.push(param(bias, "norm-bias"));
      nodes.push(add);
      out = add.output[0]!;
    }
    nodes.forEach((m) => claimed.add(m));
    const layer: Layer = {
      name: "",
      op: "LayerNormalization",
      nodes: [],
      params,
      numel: 0,
      role: "body",
      reinit: false,
      input: sub!.input[0]!,
      output: out,
    };
    return finish(layer, nodes);
  }

  /** The initializer a MatMul reads through a 2-D Transpose (a preserve export's nn.Linear: x @ W^T). */
  function transposedWeight(w: string): NodeProto | undefined {
    const t = view.producer.get(w);
    if (t?.opType !== "Transpose" || !isInit(t.input[0] ?? "") || claimed.has(t)) return undefined;
    const perm = attrInts(t, "perm");
    const rank = inits.get(t.input[0]!)!.dims.length;
    return rank === 2 && (!perm || (perm[0] === 1 && perm[1] === 0)) ? t : undefined;
  }

  function weightedLayer(head: NodeProto): Layer | undefined {
    const [x, w, b] = head.input;
    if (!x || !w || isInit(x)) return undefined;
    const transposed = head.opType === "MatMul" ? transposedWeight(w) : undefined;
    if (!isInit(w) && !transposed) return undefined;
    const wt = param(transposed ? transposed.input[0]! : w, "weight");
    if (head.opType === "MatMul" && wt.dims.length < 2) return undefined;
    const params = [wt];
    const nodes = transposed ? [head, transposed] : [head];
    if (b && isInit(b)) params.push(param(b, "bias"));
    let out = head.output[0]!;
    if (head.opType === "MatMul") {
      const add = soleConsumer(out, "Add");
      const bias = add?.input.find((i) => i !== out && isInit(i));
      if (add && bias && add.input.includes(out)) {
        params.push(param(bias, "bias"));
        nodes.push(add);
        out = add.output[0]!;
      }
    }
    const bn = soleConsumer(out, "BatchNormalization");
    const layer: Layer = {
      name: "",
      op: head.opType,
      nodes: [],
      params,
      numel: 0,
      role: "body",
      reinit: false,
      ...weightGeometry(head, wt.dims, !!transposed),
      input: x,
      output: out,
    };
    if (bn && bn.input[0] === out && bn.input.slice(1, 5).every(isInit)) return normLayer(bn, nodes, layer);
    nodes.forEach((m) => claimed.add(m));
    return finish(layer, nodes);
  }

  function normLayer(norm: NodeProto, before: NodeProto[], base?: Layer): Layer | undefined {
    const kinds = NORM_KINDS[norm.opType]!;
    const slots = norm.input.slice(1, 1 + kinds.length);
    if (!base && (isInit(norm.input[0] ?? "") || !slots.some((s) => s && isInit(s)))) return undefined;
    const normParams = slots.flatMap((s, i) => (s && isInit(s) ? [param(s, kinds[i]!)] : []));
    const layer: Layer = base
      ? { ...base, params: [...base.params, ...normParams], output: norm.output[0]! }
      : {
          name: "",
          op: norm.opType,
          nodes: [],
          params: normParams,
          numel: 0,
          role: "body",
          reinit: false,
          input: norm.input[0]!,
          output: norm.output[0]!,
        };
    const nodes = [...before, norm];
    nodes.forEach((m) => claimed.add(m));
    return finish(layer, nodes);
  }

  function finish(layer: Layer, nodes: NodeProto[]): Layer {
    layer.nodes = nodes.map(nodeLabel);
    nodesOf.set(layer, nodes);
    layer.numel = layer.params.reduce((a, p) => a + p.numel, 0);
    layer.name = moduleName(nodes[0]!, layer.params[0]?.name);
    return layer;
  }

  const fileIndex = new Map(graph.node.map((n, i) => [n, i]));
  layers.sort((a, b) => fileIndex.get(nodesOf.get(a)![0]!)! - fileIndex.get(nodesOf.get(b)![0]!)!);
  uniquifyNames(layers);
  assignRoles(view, order, layers, nodesOf);
  const reinitRoles = new Set(opts.reinitRoles ?? ["body"]);
  for (const l of layers) l.reinit = reinitRoles.has(l.role);
  return {
    inputs: graph.input.filter((v) => !isInit(v.name)).map(describe),
    outputs: graph.output.map(describe),
    opset: opsetVersion(proto) ?? 0,
    layers,
  };
}

/**
 * fan_in / fan_out as PyTorch computes them for the module's weight, in the ONNX weight's layout (`transposed`:
 * a MatMul weight stored as nn.Linear's [out, in]).
 */
function weightGeometry(head: NodeProto, dims: number[], transposed = false): Partial<Layer> {
  if (head.opType === "Conv" || head.opType === "ConvTranspose") {
    const rf = numel(dims.slice(2));
    const kernelShape = attrInts(head, "kernel_shape", dims.slice(2));
    return { fanIn: dims[1]! * rf, fanOut: dims[0]! * rf, kernelShape, groups: attrInt(head, "group", 1) };
  }
  if (head.opType === "Gemm") {
    const transB = attrInt(head, "transB", 0) === 1;
    return { fanIn: transB ? dims[1] : dims[0], fanOut: transB ? dims[0] : dims[1] };
  }
  if (transposed) return { fanIn: dims[1], fanOut: dims[0] };
  return { fanIn: dims[dims.length - 2], fanOut: dims[dims.length - 1] };
}

/**
 * `layer1.0.conv1` from the weight `layer1.0.conv1.weight`, else from a TorchScript scope such as
 * `/layer2/layer2.0/downsample/downsample.0/Conv` or `/features/features.1/conv/conv.0/conv.0.0/Conv`: a
 * segment that starts with the previous segment and a dot names a child of that (Sequential) module, whose
 * own name is the rest (`conv.0.0` under `conv.0` is child `0`).
 */
function moduleName(head: NodeProto, weight: string | undefined): string {
  const m = weight?.match(/^(.+)\.(weight|scale)$/);
  if (m && !weight!.startsWith("onnx::")) return m[1]!;
  const scope = head.name.split("/").filter(Boolean);
  if (head.name.startsWith("/") && scope.length > 1) {
    const segments = scope.slice(0, -1);
    return segments
      .map((seg, i) => (i > 0 && seg.startsWith(`${segments[i - 1]}.`) ? seg.slice(segments[i - 1]!.length + 1) : seg))
      .join(".");
  }
  return head.name || weight || head.output[0]!;
}

function uniquifyNames(layers: Layer[]): void {
  const seen = new Map<string, number>();
  for (const l of layers) {
    const k = seen.get(l.name) ?? 0;
    seen.set(l.name, k + 1);
    if (k > 0) l.name = `${l.name}_${k}`;
  }
}

function describe(v: ValueInfoProto): ValueDesc {
  const t = valueInfoElemType(v);
  return {
    name: v.name,
    dtype: t === undefined ? "unknown" : (dtypeFromOnnx(t) ?? DataType[t] ?? String(t)),
    dims: valueInfoDims(v),
  };
}
