/**
 * Emits the few ops the artifact builders need in the form the model's opset expects (ReduceMean/ReduceSum
 * axes as attribute or input), with float32 scalar constants. Every node goes through a GraphBuilder, so
 * names stay unique and readable (`<prefix>/<Op>`).
 */
import { axesAsInput } from "../../autograd/index.js";
import type { Attrs } from "../../onnx/attributes.js";
import type { GraphBuilder } from "../../onnx/builder.js";
import { float32, int64, type Tensor } from "../../onnx/tensor.js";

export class Emitter {
  constructor(
    readonly b: GraphBuilder,
    /** ai.onnx opset of the model the nodes go into. */
    readonly opset: number,
    /** Name prefix of the nodes and constants, e.g. "loss" or "sgd". */
    readonly prefix: string,
    /** Rank of the scalar constants (shape [1, ..., 1]); 0 by default. */
    readonly scalarRank = 0,
  ) {}

  /** A child emitter whose names start with `<prefix>/<sub>`. */
  child(name: string): Emitter {
    return new Emitter(this.b, this.opset, `${this.prefix}/${name}`, this.scalarRank);
  }

  /**
   * This emitter with scalars of shape [1, ..., 1] (`rank` ones), for elementwise ops over tensors of that rank:
   * onnxruntime broadcasts a rank-0 scalar over trailing unit dims slowly (SHORT_SPAN in autograd/emit.ts). The
   * same values, so the same results.
   */
  withScalarRank(rank: number): Emitter {
    return new Emitter(this.b, this.opset, this.prefix, rank);
  }

  /** A rank-0 value (e.g. the learning-rate input) as a scalar of this emitter's rank. */
  ranked(scalar: string): string {
    return this.scalarRank === 0
      ? scalar
      : this.op("Reshape", [scalar, this.ints(Array(this.scalarRank).fill(1), "ones")]);
  }

  op(opType: string, inputs: string[], attrs?: Attrs, name?: string): string {
    return this.b.op(opType, inputs, attrs, `${this.prefix}/${name ?? opType}`);
  }

  /** A node whose single output gets exactly the name `output` (graph outputs, state updates). */
  opTo(output: string, opType: string, inputs: string[], attrs?: Attrs): string {
    return this.b.node(opType, inputs, { name: `${this.prefix}/${opType}`, outputs: [output], attrs })[0]!;
  }

  node(opType: string, inputs: string[], outputs: number, attrs?: Attrs): string[] {
    return this.b.node(opType, inputs, { name: `${this.prefix}/${opType}`, outputs, attrs });
  }

  /** A constant initializer named `<prefix>/<name>`. */
  constant(t: Tensor, name = "const"): string {
    return this.b.constant(`${this.prefix}/${name}`, t);
  }

  /** A float32 scalar constant (rank 0, or the emitter's scalarRank). */
  scalar(value: number, name = "const"): string {
    return this.constant(float32(Array(this.scalarRank).fill(1), [value]), name);
  }

  ints(values: number[], name = "axes"): string {
    return this.constant(int64([values.length], values), name);
  }

  /** ReduceMean/ReduceSum over `axes` (all axes when undefined). */
  reduce(opType: "ReduceMean" | "ReduceSum", x: string, axes: number[] | undefined, keepdims: boolean): string {
    if (axes === undefined) return this.op(opType, [x], { keepdims: keepdims ? 1 : 0 });
    if (axesAsInput(opType, this.opset)) return this.op(opType, [x, this.ints(axes)], { keepdims: keepdims ? 1 : 0 });
    return this.op(opType, [x], { axes, keepdims: keepdims ? 1 : 0 });
  }

  /** op(), or opTo() when `output` names the result; the node is `<prefix>/<name ?? opType>` either way. */
  opInto(output: string | undefined, opType: string, inputs: string[], name = opType): string {
    return output
      ? this.b.node(opType, inputs, { name: `${this.prefix}/${name}`, outputs: [output] })[0]!
      : this.op(opType, inputs, undefined, name);
  }

  /** The values joined along axis 0. */
  concat(values: string[]): string {
    return this.op("Concat", values, { axis: 0 });
  }

  /**
   * An elementwise `update` once over the concatenation (axis 0) of several members' 1-D tensors: `inputs[k]` is
   * the k-th input of every member, `update` maps the joined inputs to joined results, and result j is split back
   * into `outputs[j]` (one name per member; `sizes` their lengths). The same float ops on every value as one
   * update per member, in one set of nodes.
   */
  overConcatenation(
    inputs: string[][],
    sizes: number[],
    outputs: string[][],
    update: (joined: string[]) => string[],
  ): void {
    update(inputs.map((members) => this.concat(members))).forEach((joined, j) => {
      const split = { name: `${this.prefix}/Split`, outputs: outputs[j]! };
      if (this.opset >= 13) this.b.node("Split", [joined, this.ints(sizes, "sizes")], { ...split, attrs: { axis: 0 } });
      else this.b.node("Split", [joined], { ...split, attrs: { axis: 0, split: sizes } });
    });
  }

  add(a: string, b: string): string {
    return this.op("Add", [a, b]);
  }
  sub(a: string, b: string): string {
    return this.op("Sub", [a, b]);
  }
  mul(a: string, b: string): string {
    return this.op("Mul", [a, b]);
  }
  div(a: string, b: string): string {
    return this.op("Div", [a, b]);
  }
  /** a * k for a number k. */
  scale(a: string, k: number, name?: string): string {
    return this.mul(a, this.scalar(k, name));
  }
}
