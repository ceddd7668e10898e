/**
 * The state tensors (parameters, optimizer state, BN statistics) between steps, kept as two sets of
 * onnxruntime tensors: one is fed to the train step, the other receives its outputs as pre-allocated fetches,
 * then the two swap. No tensor is allocated or copied by JavaScript per step.
 */
import type { Tensor as OrtTensor } from "onnxruntime-node";
import { UserError } from "../../errors.js";
import { firstNonFinite, numel, sameDims, zeros, type Tensor } from "../../onnx/tensor.js";
import { toOrt } from "../ort-tensor.js";
import type { StateSpec } from "./contract.js";

/** One set of state tensors, keyed both ways: by state (= train-step input) name and by train-step output name. */
interface Side {
  byName: Readonly<Record<string, OrtTensor>>;
  byOutput: Readonly<Record<string, OrtTensor>>;
}

export class StateStore {
  private current: Side;
  private spare: Side;
  private readonly byName: Map<string, StateSpec>;

  /** `what` names where the initial state came from (the model file) in errors. */
  constructor(specs: readonly StateSpec[], initial: Map<string, Tensor>, what = "initial state") {
    this.byName = new Map(specs.map((s) => [s.name, s]));
    const problems = specs.flatMap((s) => checkTensor(s, initial.get(s.name)));
    if (problems.length) throw new UserError(`initial state does not match the manifest: ${problems.join("; ")}`);
    const bad = specs.flatMap((s) => nonFinite(s, initial.get(s.name)!.data, "holds"));
    if (bad.length) throw new UserError(`${listed(bad)}: the weights must be finite numbers`, what);
    const side = (make: (s: StateSpec) => Tensor): Side => {
      const tensors = specs.map((s) => [s, toOrt(make(s))] as const);
      return {
        byName: Object.fromEntries(tensors.map(([s, t]) => [s.name, t])),
        byOutput: Object.fromEntries(tensors.map(([s, t]) => [s.output, t])),
      };
    };
    this.current = side((s) => copyOf(initial.get(s.name)!));
    this.spare = side((s) => zeros(s.dtype, s.dims));
  }

  /** Tensors to feed, by state name (owned by the store: do not keep them across steps). */
  feeds(): Readonly<Record<string, OrtTensor>> {
    return this.current.byName;
  }

  /** Pre-allocated tensors for the train step to write the new state into, by train-step output name. */
  fetches(): Readonly<Record<string, OrtTensor>> {
    return this.spare.byOutput;
  }

  /** The first fetched (not yet committed) state tensor holding NaN or an infinity ("'w' -Infinity (element 3 of 9)"). */
  nonFiniteFetched(): string | undefined {
    for (const s of this.byName.values()) {
      const bad = nonFinite(s, this.spare.byName[s.name]!.data as Tensor["data"], "");
      if (bad.length) return bad[0];
    }
    return undefined;
  }

  /** Makes the fetched tensors the current state. */
  commit(): void {
    [this.current, this.spare] = [this.spare, this.current];
  }

  /** A copy of one state tensor. */
  get(name: string): Tensor {
    const t = this.byName.has(name) ? this.current.byName[name] : undefined;
    if (!t) throw new UserError(`no state tensor '${name}'`);
    const s = this.byName.get(name)!;
    return copyOf({ dtype: s.dtype, dims: [...s.dims], data: t.data as Tensor["data"] });
  }

  /** Overwrites state tensors (copied in); checks every one first and reports every mismatch at once. */
  set(values: Map<string, Tensor>, what: string): void {
    const problems: string[] = [];
    for (const [name, t] of values) {
      const s = this.byName.get(name);
      if (!s) problems.push(`'${name}' is not a state tensor of this model`);
      else problems.push(...checkTensor(s, t));
    }
    if (problems.length) throw new UserError(problems.join("; "), what);
    const bad = [...values].flatMap(([name, t]) => nonFinite(this.byName.get(name)!, t.data, "holds"));
    if (bad.length) throw new UserError(`${listed(bad)}: state values must be finite numbers`, what);
    for (const [name, t] of values) (this.current.byName[name]!.data as Tensor["data"]).set(t.data as never);
  }
}

function checkTensor(s: StateSpec, t: Tensor | undefined): string[] {
  if (!t) return [`'${s.name}' is missing`];
  const p: string[] = [];
  if (t.dtype !== s.dtype) p.push(`'${s.name}' is ${t.dtype}, expected ${s.dtype}`);
  if (!sameDims(t.dims, s.dims)) p.push(`'${s.name}' has dims [${t.dims}], expected [${s.dims}]`);
  else if (t.data.length !== numel(s.dims))
    p.push(`'${s.name}' holds ${t.data.length} values, expected ${numel(s.dims)}`);
  return p;
}

/** "'conv1.weight' <verb> NaN (element 3 of 216)" when a float tensor holds a NaN or an infinity; else nothing. */
function nonFinite(s: StateSpec, data: Tensor["data"], verb: string): string[] {
  if (!(data instanceof Float32Array || data instanceof Float64Array)) return [];
  const i = firstNonFinite(data);
  return i < 0
    ? []
    : [`'${s.initializer ?? s.name}'${verb ? ` ${verb}` : ""} ${data[i]} (element ${i} of ${data.length})`];
}

const listed = (xs: string[]) => xs.slice(0, 3).join("; ") + (xs.length > 3 ? `; and ${xs.length - 3} more` : "");

function copyOf(t: Tensor): Tensor {
  const c = zeros(t.dtype, t.dims);
  c.data.set(t.data as never);
  return c;
}
