/**
 * Adds nodes and initializers to a graph with unique, readable names (`prefix/op`, `prefix/op_1`, ...).
 * Generated graphs use standard ai.onnx ops only.
 */
import { makeAttributes, type Attrs } from "./attributes.js";
import { newNode, newTensorValueInfo, type GraphProto, type NodeProto } from "./proto.js";
import { makeTensorProto, onnxFromDtype, type DType, type Tensor } from "./tensor.js";

export class GraphBuilder {
  private readonly used = new Set<string>();

  constructor(readonly graph: GraphProto) {
    for (const v of [...graph.input, ...graph.output, ...graph.valueInfo]) this.used.add(v.name);
    for (const t of graph.initializer) this.used.add(t.name);
    for (const n of graph.node) {
      n.output.forEach((o) => this.used.add(o));
      if (n.name) this.used.add(n.name);
    }
  }

  /** A name not used yet in the graph, derived from `base`. */
  unique(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Appends a node; outputs are named `${name}` / `${name}:k` unless given. Returns the output names. */
  node(
    opType: string,
    inputs: string[],
    opts: { name?: string; outputs?: number | string[]; attrs?: Attrs } = {},
  ): string[] {
    const name = this.unique(opts.name ?? opType);
    const outs = opts.outputs ?? 1;
    // `name` is already unique among node and value names, so output 0 may share it
    const outputs = Array.isArray(outs)
      ? outs
      : Array.from({ length: outs }, (_, k) => (k === 0 ? name : this.unique(`${name}:${k}`)));
    outputs.forEach((o) => this.used.add(o));
    this.graph.node.push(
      newNode({ opType, name, input: inputs, output: outputs, attribute: makeAttributes(opts.attrs) }),
    );
    return outputs;
  }

  /** One-output node; returns its output name. */
  op(opType: string, inputs: string[], attrs?: Attrs, name?: string): string {
    return this.node(opType, inputs, { attrs, name })[0]!;
  }

  /**
   * Puts the nodes `emit` adds (at the end of the graph) where `node` stands, replacing it; false, and nothing
   * emitted, when `node` is not in the graph.
   */
  replaceNode(node: NodeProto, emit: () => void): boolean {
    const at = this.graph.node.indexOf(node);
    if (at < 0) return false;
    const before = this.graph.node.length;
    emit();
    this.graph.node.splice(at, 1, ...this.graph.node.splice(before));
    return true;
  }

  /** Adds an initializer under a unique name derived from `base`; returns that name. */
  initializer(base: string, tensor: Tensor): string {
    const name = this.unique(base);
    this.graph.initializer.push(makeTensorProto(name, tensor));
    return name;
  }

  /** A scalar or small constant as an initializer. */
  constant(base: string, tensor: Tensor): string {
    return this.initializer(base, tensor);
  }

  addInput(name: string, dtype: DType, dims?: (number | string | null)[]): string {
    this.used.add(name);
    this.graph.input.push(newTensorValueInfo(name, onnxFromDtype(dtype), dims));
    return name;
  }

  addOutput(name: string, dtype: DType, dims?: (number | string | null)[]): string {
    this.graph.output.push(newTensorValueInfo(name, onnxFromDtype(dtype), dims));
    return name;
  }

  get nodes(): NodeProto[] {
    return this.graph.node;
  }
}
