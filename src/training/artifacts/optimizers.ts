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
  /** Updated state values whose non-finite values always show in some parameter's update as well (SGD's
   *  momentum: p - lr*buf), so a check of the new state may leave them out. */
  impliedFinite: Set<string>;
}

/** One update's tensors: a parameter (or several concatenated), its gradient and its state inputs. */
interface Slot {
  param: string;
  grad: string;
  /** State input by role ("momentum", "adam_m", "adam_v"). */
  state: Partial<Record<OptimizerRole, string>>;
}
/** The update's values by name: "param" and each state role. */
type Updated = Partial<Record<OptimizerRole | "param", string>>;
/** Emits one update over `slot`; `to` names the values to write under exactly those names. */
type Update = (e: Emitter, slot: Slot, to: Updated) => Updated;

export function appendOptimizer(e: Emitter, opts: OptimizerOptions): OptimizerGraph {
  if (opts.kind === "sgd") {
    const h = opts.hyper as SgdHyper;
    const roles: OptimizerRole[] = h.momentum !== 0 ? ["momentum"] : [];
    const out = appendUpdates(e, opts, roles, [], (pe, slot, to) => sgdUpdate(pe, slot, to, h, opts.lr));
    return { ...out, impliedFinite: new Set(out.state.map((s) => s.output)) };
  }
  const h = opts.hyper as AdamWHyper;
  const step = "adamw.step";
  const stepOut = opts.outputName(step);
  const counter: OptimizerState = {
    name: step,
    role: "step",
    param: null,
    initial: zeros("float32", []),
    output: stepOut,
  };
  const one = e.scalar(1, "one");
  const t = e.opTo(stepOut, "Add", [step, one]);
  const shared = {
    decay: e.sub(one, e.scale(opts.lr, h.weightDecay, "weight_decay")),
    stepSize: e.div(opts.lr, e.sub(one, e.op("Pow", [e.scalar(h.beta1, "beta1"), t]))),
    bc2Sqrt: e.op("Sqrt", [e.sub(one, e.op("Pow", [e.scalar(h.beta2, "beta2"), t]))]),
  };
  const out = appendUpdates(e, opts, ["adam_m", "adam_v"], [counter], (pe, slot, to) =>
    adamwUpdate(pe, slot, to, h, shared),
  );
  return { ...out, impliedFinite: new Set() };
}

const STATE_PREFIX: Partial<Record<OptimizerRole, string>> = {
  momentum: "sgd.momentum",
  adam_m: "adamw.m",
  adam_v: "adamw.v",
};

/**
 * Every parameter's update: the 1-D parameters (biases, normalization scales: most of a CNN's parameters by
 * count, few of its values) in one update over their concatenation, split back into their outputs, the
 * others one update each. The same float ops on every value either way (elementwise), in ~6 nodes instead of
 * ~6 per parameter: ResNet-18's 41 1-D parameters took 246 nodes of a few microseconds each.
 */
function appendUpdates(
  e: Emitter,
  opts: OptimizerOptions,
  roles: OptimizerRole[],
  state: OptimizerState[],
  update: Update,
): Omit<OptimizerGraph, "impliedFinite"> {
  const paramUpdates = new Map<string, string>();
  const slotOf = (p: OptimizerOptions["params"][number]) => {
    const slot: Slot = { param: p.name, grad: p.grad, state: {} };
    const to: Updated = { param: opts.outputName(p.name) };
    for (const role of roles) {
      const name = `${STATE_PREFIX[role]}/${p.name}`;
      slot.state[role] = name;
      to[role] = opts.outputName(name);
      state.push({ name, role, param: p.name, initial: zeros("float32", p.dims), output: to[role] });
    }
    paramUpdates.set(p.name, to.param!);
    return { slot, to };
  };
  const slots = opts.params.map(slotOf); // in parameter order, as the state lists them
  const oneD = opts.params.flatMap((p, i) => (p.dims.length === 1 ? [i] : []));
  const grouped = oneD.length >= 2 ? oneD : [];
  slots.forEach(({ slot, to }, i) => {
    const p = opts.params[i]!;
    if (!grouped.includes(i)) update(e.child(p.name).withScalarRank(p.dims.length), slot, to);
  });
  if (grouped.length === 0) return { paramUpdates, state };

  const ge = e.child("1d");
  const members = grouped.map((i) => slots[i]!);
  const keys = ["param", ...roles] as const;
  ge.overConcatenation(
    [
      members.map((m) => m.slot.param),
      members.map((m) => m.slot.grad),
      ...roles.map((r) => members.map((m) => m.slot.state[r]!)),
    ],
    grouped.map((i) => opts.params[i]!.dims[0]!),
    keys.map((k) => members.map((m) => m.to[k]!)),
    ([param, grad, ...states]) => {
      const updated = update(
        ge,
        { param: param!, grad: grad!, state: Object.fromEntries(roles.map((r, k) => [r, states[k]!])) },
        {},
      );
      return keys.map((k) => updated[k]!);
    },
  );
  return { paramUpdates, state };
}

function sgdUpdate(e: Emitter, slot: Slot, to: Updated, h: SgdHyper, lr: string): Updated {
  const p = slot.param;
  let d = h.weightDecay !== 0 ? e.add(slot.grad, e.scale(p, h.weightDecay, "weight_decay")) : slot.grad;
  const out: Updated = {};
  if (h.momentum !== 0) {
    const buf = slot.state.momentum!;
    out.momentum = e.opInto(to.momentum, "Add", [e.scale(buf, h.momentum, "momentum"), d], "buf");
    d = h.nesterov ? e.add(d, e.scale(out.momentum, h.momentum, "momentum")) : out.momentum;
  }
  out.param = e.opInto(to.param, "Sub", [p, e.mul(e.ranked(lr), d)]);
  return out;
}

interface AdamWShared {
  /** 1 - lr*wd */
  decay: string;
  /** lr / (1 - beta1^t) */
  stepSize: string;
  /** sqrt(1 - beta2^t) */
  bc2Sqrt: string;
}

function adamwUpdate(e: Emitter, slot: Slot, to: Updated, h: AdamWHyper, s: AdamWShared): Updated {
  const [p, g, m, v] = [slot.param, slot.grad, slot.state.adam_m!, slot.state.adam_v!];
  const decayed = e.mul(p, e.ranked(s.decay));
  const newM = e.opInto(to.adam_m, "Add", [m, e.scale(e.sub(g, m), 1 - h.beta1, "one_minus_beta1")]);
  const newV = e.opInto(to.adam_v, "Add", [
    e.scale(v, h.beta2, "beta2"),
    e.scale(e.mul(g, g), 1 - h.beta2, "one_minus_beta2"),
  ]);
  const denom = e.add(e.div(e.op("Sqrt", [newV]), e.ranked(s.bc2Sqrt)), e.scalar(h.eps, "eps"));
  const newP = e.opInto(to.param, "Sub", [decayed, e.mul(e.ranked(s.stepSize), e.div(newM, denom))]);
  return { param: newP, adam_m: newM, adam_v: newV };
}
