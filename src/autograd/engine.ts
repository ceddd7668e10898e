/**
 * Reverse-mode autodiff over an ONNX graph: appends the backward nodes for d(loss)/d(wrt) to the graph.
 * The engine owns the plumbing (which nodes to differentiate, fan-out sums, broadcast reduction, shape
 * checks, names); each op's derivative is a rule in the op table (ops.ts).
 */
import { UserError } from "../errors.js";
import { GraphBuilder } from "../onnx/builder.js";
import { GraphView, type Dims } from "../onnx/graph-view.js";
import { DataType, type GraphProto, type NodeProto } from "../onnx/proto.js";
import { dtypeFromOnnx, numel, onnxFromDtype, type DType, type Tensor } from "../onnx/tensor.js";
import { analyze, isAiOnnx, isFloatType, type Analysis } from "./analysis.js";
import { reduceToShape } from "./broadcast.js";
import { tensorOf } from "./emit.js";
import { axesAsInput, inferShapes, inferValue, nodeAxes, NON_DIFFERENTIABLE, producedType, RULES } from "./ops.js";
import type { GradContext, GradRule } from "./rule.js";
import { shapesConflict } from "./infer/shapes.js";

export type { Dims };

export interface BackwardOptions {
  /** Scalar float value in `graph` to differentiate. */
  loss: string;
  /** Values (usually float initializers / graph inputs) whose gradients are wanted. */
  wrt: string[];
  /** ai.onnx opset version of the model. */
  opset: number;
  /** Known static shapes (e.g. from a probe run); the engine falls back to runtime Shape ops when absent. */
  shapes?: Map<string, Dims>;
  /** Prefix for generated names; default "grad". */
  prefix?: string;
}

const label = (n: NodeProto) => n.name || n.output[0] || n.opType;
const fmt = (d: Dims) => `[${d.map((x) => x ?? "?").join(",")}]`;

/** Appends the backward nodes to `graph` (in place) and returns wrt name -> gradient value name. */
export function appendBackward(graph: GraphProto, opts: BackwardOptions): Map<string, string> {
  const prefix = opts.prefix ?? "grad";
  const view = new GraphView(graph);
  const analysis = analyze({
    view,
    loss: opts.loss,
    wrt: opts.wrt,
    rules: RULES,
    nonDifferentiable: NON_DIFFERENTIABLE,
  });
  validate(view, analysis, opts);
  const shapes = new Map<string, Dims>();
  for (const v of [...view.producer.keys(), ...view.inputNames, ...view.initializerNames]) {
    const d = view.shape(v);
    if (d) shapes.set(v, d);
  }
  for (const [v, d] of opts.shapes ?? []) shapes.set(v, d);
  inferForwardShapes(view, analysis, shapes, opts.opset);
  const emitter = new Emitter(new GraphBuilder(graph), analysis, shapes, opts.opset, prefix);
  return emitter.run(opts.loss, opts.wrt);
}

/** Fills in forward shapes the file and `opts.shapes` leave out, where they follow from the inputs. */
function inferForwardShapes(view: GraphView, a: Analysis, shapes: Map<string, Dims>, opset: number): void {
  const values = new Map<string, Dims>();
  const ctx = {
    shape: (v: string) => shapes.get(v),
    constantValue: a.constantValue,
    value: (v: string) => values.get(v),
    opset,
  };
  for (const n of view.topoOrder()) {
    if (!isAiOnnx(n)) continue;
    const value = isFloatType(a.elemType.get(n.output[0]!)) ? undefined : inferValue(n, ctx);
    if (value && n.output[0]) values.set(n.output[0], value);
    inferShapes(n, ctx).forEach((d, k) => {
      const o = n.output[k];
      if (d && o && !shapes.has(o)) shapes.set(o, d);
    });
  }
}

function validate(view: GraphView, a: Analysis, opts: BackwardOptions): void {
  const problems: string[] = [];
  const exists = (v: string) =>
    view.producer.has(v) || view.initializerNames.has(v) || view.graph.input.some((i) => i.name === v);
  if (!exists(opts.loss)) problems.push(`loss '${opts.loss}' is not a value of the graph`);
  else if (!isFloatType(a.elemType.get(opts.loss)))
    problems.push(
      `loss '${opts.loss}' is not a float value (element type ${DataType[a.elemType.get(opts.loss) ?? 0] ?? "unknown"})`,
    );
  if (opts.wrt.length === 0) problems.push("no float parameters to differentiate (wrt is empty)");
  for (const w of opts.wrt) {
    if (!exists(w)) problems.push(`'${w}' is not a value of the graph`);
    else if (!isFloatType(a.elemType.get(w))) problems.push(`'${w}' is not a float value, it cannot have a gradient`);
  }
  if (problems.length) throw new UserError(problems.join("; "), "backward");
  const unreached = opts.wrt.filter((w) => !a.relevant.has(w));
  if (unreached.length) {
    throw new UserError(
      `the loss '${opts.loss}' does not depend (through differentiable ops) on: ${unreached.join(", ")}`,
      "backward",
    );
  }
  const problem = unsupportedMessage(a.backwardOrder, opts.opset);
  if (problem) throw new UserError(problem);
}

/** The error for the nodes on the gradient path that have no rule, or undefined when every one has. */
function unsupportedMessage(backwardOrder: NodeProto[], opset: number): string | undefined {
  const unsupported = backwardOrder.filter((n) => !isAiOnnx(n) || !RULES[n.opType]);
  if (!unsupported.length) return undefined;
  const list = unsupported.map(
    (n) => `op '${isAiOnnx(n) ? "" : `${n.domain}.`}${n.opType}' (node '${label(n)}', opset ${opset})`,
  );
  return `No gradient rule for ${[...new Set(list)].join(", ")}; supported: ${Object.keys(RULES).sort().join(", ")}`;
}

/**
 * Checks, before anything is built, that every node between `wrt` and `loss` can be differentiated; throws the
 * UserError appendBackward would (every op without a rule, with its node and the opset).
 */
export function checkDifferentiable(graph: GraphProto, opts: { loss: string; wrt: string[]; opset: number }): void {
  const a = analyze({
    view: new GraphView(graph),
    loss: opts.loss,
    wrt: opts.wrt,
    rules: RULES,
    nonDifferentiable: NON_DIFFERENTIABLE,
  });
  const problem = unsupportedMessage(a.backwardOrder, opts.opset);
  if (problem) throw new UserError(problem);
}

class Emitter {
  private readonly contributions = new Map<string, string[]>();
  private readonly summed = new Map<string, string | undefined>();
  private readonly constants = new Map<string, string>();
  private readonly generated = new Map<string, Tensor>();

  constructor(
    private readonly b: GraphBuilder,
    private readonly a: Analysis,
    private readonly shapes: Map<string, Dims>,
    private readonly opset: number,
    private readonly prefix: string,
  ) {}

  run(loss: string, wrt: string[]): Map<string, string> {
    this.contributions.set(loss, [this.seed(loss)]);
    for (const n of this.a.backwardOrder) this.differentiate(n);
    const out = new Map<string, string>();
    for (const w of wrt) {
      const g = this.gradOf(w)!;
      out.set(w, this.emit("Identity", [g], 1, {}, `${w}/${this.prefix}`)[0]!);
    }
    return out;
  }

  private seed(loss: string): string {
    const dtype = this.dtypeOf(loss);
    const dims = this.shapes.get(loss);
    if (dims && dims.every((d): d is number => typeof d === "number")) {
      if (numel(dims) !== 1)
        throw new UserError(`loss '${loss}' has shape ${fmt(dims)}, expected a scalar`, "backward");
      return this.constant(filled(dtype, dims, 1));
    }
    const shape = this.emit("Shape", [loss], 1, {}, `${loss}/${this.prefix}/Shape`)[0]!;
    return this.emit(
      "ConstantOfShape",
      [shape],
      1,
      { value: filled(dtype, [1], 1) },
      `${loss}/${this.prefix}/seed`,
    )[0]!;
  }

  /** Sum of the gradients flowing into `value` (one Sum node at fan-out), or undefined when none does. */
  private gradOf(value: string): string | undefined {
    if (this.summed.has(value)) return this.summed.get(value);
    const list = this.contributions.get(value) ?? [];
    const g = list.length <= 1 ? list[0] : this.emit("Sum", list, 1, {}, `${value}/${this.prefix}/Sum`)[0]!;
    this.summed.set(value, g);
    return g;
  }

  private needs(n: NodeProto, rule: GradRule, i: number): boolean {
    const v = n.input[i];
    return !!v && !(rule.nonDifferentiableInputs ?? []).includes(i) && this.a.active.has(v) && this.a.relevant.has(v);
  }

  private differentiate(n: NodeProto): void {
    const rule = RULES[n.opType]!;
    const name = label(n);
    const ctx = this.context(n, rule);
    const grads = rule.grad(ctx);
    n.input.forEach((x, i) => {
      if (!this.needs(n, rule, i)) return;
      let g = grads[i];
      if (!g) throw new Error(`gradient rule ${n.opType} gave no gradient for input ${i} ('${x}') of node '${name}'`);
      if (rule.broadcast && n.input.filter((v) => v).length > 1)
        g = reduceToShape(ctx, {
          grad: g,
          like: x,
          gradDims: this.shapes.get(n.output[0]!),
          nodeLabel: `node '${name}' (${n.opType})`,
        });
      const gs = this.shapes.get(g);
      const xs = this.shapes.get(x);
      if (gs && xs && shapesConflict(gs, xs)) {
        throw new Error(
          `gradient rule ${n.opType} of node '${name}' returned shape ${fmt(gs)} for input '${x}' of shape ${fmt(xs)}`,
        );
      }
      const list = this.contributions.get(x) ?? [];
      list.push(g);
      this.contributions.set(x, list);
    });
  }

  private context(n: NodeProto, rule: GradRule): GradContext {
    const base = `${label(n)}/${this.prefix}`;
    return {
      node: n,
      opset: this.opset,
      inputCount: n.input.length,
      I: (i) => n.input[i] ?? "",
      O: (i) => n.output[i] ?? "",
      GO: (i) => (n.output[i] ? this.gradOf(n.output[i]!) : undefined),
      needs: (i) => this.needs(n, rule, i),
      shape: (v) => this.shapes.get(v),
      op: (opType, inputs, attrs) => this.emit(opType, inputs, 1, attrs ?? {}, `${base}/${opType}`)[0]!,
      ops: (opType, inputs, outputs, attrs) => this.emit(opType, inputs, outputs, attrs ?? {}, `${base}/${opType}`),
      constant: (t) => this.constant(t),
      dtype: (v) => this.dtypeOf(v),
      scalar: (x, like) => this.constant(filled(this.dtypeOf(like), [], x)),
      constantValue: (v) => this.generated.get(v) ?? this.a.constantValue(v),
      axesAsInput: (opType) => axesAsInput(opType, this.opset),
      axes: () => nodeAxes(n, this.opset, (v) => this.generated.get(v) ?? this.a.constantValue(v)),
    };
  }

  private emit(
    opType: string,
    inputs: string[],
    outputs: number,
    attrs: Parameters<GradContext["op"]>[2],
    name: string,
  ): string[] {
    const outs = this.b.node(opType, inputs, { name, outputs, attrs });
    const node = this.b.nodes[this.b.nodes.length - 1]!;
    outs.forEach((o, k) => {
      const t = producedType(node, k, (v) => this.a.elemType.get(v));
      if (t !== undefined) this.a.elemType.set(o, t);
    });
    const dims = inferShapes(node, {
      shape: (v) => this.shapes.get(v),
      constantValue: (v) => this.generated.get(v) ?? this.a.constantValue(v),
      opset: this.opset,
    });
    dims.forEach((d, k) => d && outs[k] && this.shapes.set(outs[k]!, d));
    return outs;
  }

  private constant(t: Tensor): string {
    const values = Array.from(t.data as ArrayLike<number | bigint>, (v) => String(v));
    const key = `${t.dtype}[${t.dims}]${values.join(",")}`;
    const hit = this.constants.get(key);
    if (hit) return hit;
    const short = values.length <= 6 ? `${t.dtype}_${values.join("_")}` : t.dtype;
    const name = this.b.initializer(`${this.prefix}/const_${short}`, t);
    this.constants.set(key, name);
    this.generated.set(name, t);
    this.a.elemType.set(name, onnxFromDtype(t.dtype));
    this.shapes.set(name, t.dims);
    return name;
  }

  private dtypeOf(v: string): DType {
    return dtypeFromOnnx(this.a.elemType.get(v) ?? DataType.FLOAT) ?? "float32";
  }
}

/** A tensor of `dtype` filled with `x`. */
const filled = (dtype: DType, dims: number[], x: number): Tensor =>
  tensorOf(dtype, dims, new Float64Array(numel(dims)).fill(x));
