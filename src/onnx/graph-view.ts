/**
 * A read-only view of a graph: who produces and who consumes each value, topological order, and the
 * shapes and element types that the file declares (inputs, outputs, value_info, initializers).
 */
import { UserError } from "../errors.js";
import { valueInfoDims, valueInfoElemType, type GraphProto, type NodeProto } from "./proto.js";

export type Dims = (number | string | null)[];

export class GraphView {
  readonly producer = new Map<string, NodeProto>();
  readonly consumers = new Map<string, NodeProto[]>();
  readonly initializerNames: Set<string>;
  readonly inputNames: string[];
  readonly outputNames: string[];
  private readonly shapes = new Map<string, Dims>();
  private readonly elemTypes = new Map<string, number>();

  constructor(readonly graph: GraphProto) {
    this.initializerNames = new Set(graph.initializer.map((t) => t.name));
    this.inputNames = graph.input.map((v) => v.name).filter((n) => !this.initializerNames.has(n));
    this.outputNames = graph.output.map((v) => v.name);
    for (const n of graph.node) {
      for (const o of n.output) if (o) this.producer.set(o, n);
      for (const i of n.input) {
        if (!i) continue;
        const list = this.consumers.get(i) ?? [];
        if (!list.includes(n)) list.push(n);
        this.consumers.set(i, list);
      }
    }
    for (const vi of [...graph.input, ...graph.output, ...graph.valueInfo]) {
      const d = valueInfoDims(vi);
      if (d) this.shapes.set(vi.name, d);
      const t = valueInfoElemType(vi);
      if (t !== undefined) this.elemTypes.set(vi.name, t);
    }
    for (const t of graph.initializer) {
      this.shapes.set(t.name, t.dims.map(Number));
      this.elemTypes.set(t.name, t.dataType);
    }
  }

  consumersOf(value: string): NodeProto[] {
    return this.consumers.get(value) ?? [];
  }

  /** Declared shape of a value, if the file has one. */
  shape(value: string): Dims | undefined {
    return this.shapes.get(value);
  }

  /** Declared ONNX element type of a value, if known. */
  elemType(value: string): number | undefined {
    return this.elemTypes.get(value);
  }

  /** Nodes in an order where every node comes after the producers of its inputs. */
  topoOrder(): NodeProto[] {
    const nodes = this.graph.node;
    const indeg = new Map<NodeProto, number>();
    for (const n of nodes) {
      const deps = new Set(n.input.filter((i) => i && this.producer.has(i)).map((i) => this.producer.get(i)!));
      indeg.set(n, deps.size);
    }
    const ready = nodes.filter((n) => indeg.get(n) === 0);
    const out: NodeProto[] = [];
    while (ready.length) {
      const n = ready.shift()!;
      out.push(n);
      const next = new Set<NodeProto>();
      for (const o of n.output) for (const c of this.consumersOf(o)) next.add(c);
      for (const c of next) {
        const d = indeg.get(c)! - 1;
        indeg.set(c, d);
        if (d === 0) ready.push(c);
      }
    }
    if (out.length !== nodes.length)
      throw new UserError(
        `graph has a cycle or a node whose input nobody produces (${nodes.length - out.length} nodes unreachable)`,
      );
    return out;
  }
}
