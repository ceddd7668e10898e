/**
 * In-graph optimizer updates, matching torch.optim exactly (same formulas, same order of float32 ops):
 * - SGD (torch.optim.SGD, dampening 0): d = g + wd*p; buf = momentum*buf + d (torch sets buf = d on the first
 *   step, which is the same as starting from buf = 0); d = nesterov ? d + momentum*buf : buf; p -= lr*d.
 *   With momentum 0 there is no buffer.
 * - AdamW (torch.optim.AdamW, amsgrad off): t += 1; p *= 1 - lr*wd; m = lerp(m, g, 1-beta1);
 *   v = beta2*v + (1-beta2)*g*g; p -= (lr / (1-beta1^t)) * m / (sqrt(v)/sqrt(1-beta2^t) + eps).
 *   One step counter (float32 scalar, as torch keeps it) serves every parameter.
 * The learning rate is a runtime input (float32 scalar); the other hyperparameters are baked in.
 */
import { zeros, type Tensor } from "../../onnx/tensor.js";
import type { Emitter } from "./emit.js";

export type OptimizerKind = "sgd" | "adamw";
export const OPTIMIZER_KINDS: readonly OptimizerKind[] = ["sgd", "adamw"];

export interface SgdHyper {
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
}
export interface AdamWHyper {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}
export type OptimizerHyper = SgdHyper | AdamWHyper;

/** The challenge baseline's SGD (method.md): momentum 0.9, weight decay 5e-4, no Nesterov. */
export const SGD_DEFAULTS: SgdHyper = { momentum: 0.9, weightDecay: 5e-4, nesterov: false };
/** torch.optim.AdamW's defaults. */
export const ADAMW_DEFAULTS: AdamWHyper = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2 };

export type OptimizerRole = "momentum" | "adam_m" | "adam_v" | "step";

/** An optimizer state tensor: its name (a train-step input), initial value, and its updated value's name. */
export interface OptimizerState {
  name: string;
  role: OptimizerRole;
  param: string | null;
  initial: Tensor;
  output: string;
}

export interface OptimizerOptions {
  kind: OptimizerKind;
  hyper: OptimizerHyper;
  /** Each parameter (a train-step input), its gradient value and its dims. */
  params: { name: string; grad: string; dims: number[] }[];
  /** The learning-rate input (float32 scalar). */
  lr: string;
  /** Output name of a state tensor's updated value. */
  outputName: (state: string) => string;
}

export interface OptimizerGraph {
  /** param name -> its updated value (already named outputName(param)). */
  paramUpdates: Map<string, string>;
  state: OptimizerState[];
}

export function appendOptimizer(e: Emitter, opts: OptimizerOptions): OptimizerGraph {
  return opts.kind === "sgd"
    ? appendSgd(e, opts, opts.hyper as SgdHyper)
    : appendAdamW(e, opts, opts.hyper as AdamWHyper);
}

function appendSgd(e: Emitter, opts: OptimizerOptions, h: SgdHyper): OptimizerGraph {
  const paramUpdates = new Map<string, string>();
  const state: OptimizerState[] = [];
  for (const p of opts.params) {
    const pe = e.child(p.name);
    let d = h.weightDecay !== 0 ? pe.add(p.grad, pe.scale(p.name, h.weightDecay, "weight_decay")) : p.grad;
    if (h.momentum !== 0) {
      const buf = `sgd.momentum/${p.name}`;
      const output = opts.outputName(buf);
      const newBuf = pe.b.node("Add", [pe.scale(buf, h.momentum, "momentum"), d], {
        name: `${pe.prefix}/buf`,
        outputs: [output],
      })[0]!;
      state.push({ name: buf, role: "momentum", param: p.name, initial: zeros("float32", p.dims), output });
      d = h.nesterov ? pe.add(d, pe.scale(newBuf, h.momentum, "momentum")) : newBuf;
    }
    paramUpdates.set(p.name, pe.opTo(opts.outputName(p.name), "Sub", [p.name, pe.mul(opts.lr, d)]));
  }
  return { paramUpdates, state };
}

function appendAdamW(e: Emitter, opts: OptimizerOptions, h: AdamWHyper): OptimizerGraph {
  const paramUpdates = new Map<string, string>();
  const step = "adamw.step";
  const stepOut = opts.outputName(step);
  const state: OptimizerState[] = [
    { name: step, role: "step", param: null, initial: zeros("float32", []), output: stepOut },
  ];
  const one = e.scalar(1, "one");
  const t = e.opTo(stepOut, "Add", [step, one]);
  const decay = e.sub(one, e.scale(opts.lr, h.weightDecay, "weight_decay"));
  const stepSize = e.div(opts.lr, e.sub(one, e.op("Pow", [e.scalar(h.beta1, "beta1"), t])));
  const bc2Sqrt = e.op("Sqrt", [e.sub(one, e.op("Pow", [e.scalar(h.beta2, "beta2"), t]))]);
  for (const p of opts.params) {
    const pe = e.child(p.name);
    const [m, v] = [`adamw.m/${p.name}`, `adamw.v/${p.name}`];
    const [mOut, vOut] = [opts.outputName(m), opts.outputName(v)];
    const decayed = pe.mul(p.name, decay);
    const newM = pe.opTo(mOut, "Add", [m, pe.scale(pe.sub(p.grad, m), 1 - h.beta1, "one_minus_beta1")]);
    const newV = pe.opTo(vOut, "Add", [
      pe.scale(v, h.beta2, "beta2"),
      pe.scale(pe.mul(p.grad, p.grad), 1 - h.beta2, "one_minus_beta2"),
    ]);
    const denom = pe.add(pe.div(pe.op("Sqrt", [newV]), bc2Sqrt), pe.scalar(h.eps, "eps"));
    paramUpdates.set(p.name, pe.opTo(opts.outputName(p.name), "Sub", [decayed, pe.mul(stepSize, pe.div(newM, denom))]));
    state.push(
      { name: m, role: "adam_m", param: p.name, initial: zeros("float32", p.dims), output: mOut },
      { name: v, role: "adam_v", param: p.name, initial: zeros("float32", p.dims), output: vOut },
    );
  }
  return { paramUpdates, state };
}
