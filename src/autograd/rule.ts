/**
 * The contract between the reverse-mode engine and the per-op gradient rules.
 *
 * A rule sees one forward node through a GradContext (shorthands after orttraining's gradient builder:
 * I(i) forward input, O(i) forward output, GO(i) gradient flowing into output i) and returns, for each
 * forward input, the name of a value holding dLoss/dInput, or undefined when it gives none.
 *
 * The engine, not the rule: sums gradients at fan-out, reduces a returned gradient to its input's shape
 * when the op broadcast it (rules return the gradient in the broadcast/output shape and set
 * `broadcast: true`), checks shapes when known and names the node in errors, skips inputs nobody needs,
 * and never asks for gradients of integer values.
 */
import type { Attrs } from "../onnx/attributes.js";
import type { Dims } from "../onnx/graph-view.js";
import type { NodeProto } from "../onnx/proto.js";
import type { DType, Tensor } from "../onnx/tensor.js";

export interface GradContext {
  readonly node: NodeProto;
  /** Opset version of the node's domain (ai.onnx). */
  readonly opset: number;
  /** Forward input i (value name); "" when an optional input is absent. */
  I(i: number): string;
  /** Forward output i (value name). */
  O(i: number): string;
  /** Gradient flowing into forward output i, or undefined when no path to the loss uses that output. */
  GO(i: number): string | undefined;
  /** Whether the engine needs the gradient of forward input i. */
  needs(i: number): boolean;
  /** Number of forward inputs actually present. */
  readonly inputCount: number;
  /**
   * Static shape of a value when known (numbers, symbolic names, null for unknown dims): forward values
   * from the file, the caller's shapes or the engine's inference; generated values from inference.
   */
  shape(value: string): Dims | undefined;
  /** Emits one node in the backward graph; returns its (first) output. Names are `<node>/grad/<op>`. */
  op(opType: string, inputs: string[], attrs?: Attrs): string;
  /** Emits a node with several outputs; returns their names. */
  ops(opType: string, inputs: string[], outputs: number, attrs?: Attrs): string[];
  /** A constant initializer (deduplicated by content), e.g. ctx.constant(int64([1], [0])). */
  constant(t: Tensor): string;
  /** Element type of a value (declared or inferred; float32 when nothing says otherwise). */
  dtype(value: string): DType;
  /** A scalar constant with the same (float) element type as `like`, e.g. ctx.scalar(0.5, ctx.I(0)). */
  scalar(x: number, like: string): string;
  /** The value of a constant (initializer or Constant node output), or undefined when it is computed. */
  constantValue(value: string): Tensor | undefined;
  /** Whether `opType` takes its axes (Split: split sizes) as input 1 at this opset (the op table, ops.ts). */
  axesAsInput(opType: string): boolean;
  /** The node's own axes (attribute or constant input 1, [] when none given), undefined when computed. */
  axes(): number[] | undefined;
}

export interface GradRule {
  /** dLoss/dInput for each forward input; undefined where none. */
  grad(ctx: GradContext): (string | undefined)[];
  /**
   * When true, each returned gradient is in the broadcast (output 0) shape and the engine reduces it to its
   * input's own shape (elementwise ops with numpy broadcasting, Expand, Where).
   */
  broadcast?: boolean;
  /** Input indices that are never differentiable (shapes, indices, axes, condition). */
  nonDifferentiableInputs?: number[];
  /** Output indices that carry no gradient (MaxPool indices, Dropout mask). */
  nonDifferentiableOutputs?: number[];
}

/** Ops whose outputs carry no gradient at all (shape arithmetic, comparisons, constants, integer casts). */
export type NonDifferentiable = ReadonlySet<string>;
