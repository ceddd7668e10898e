/**
 * The state tensors (parameters, optimizer state, BN statistics) between steps, kept as two sets of
 * onnxruntime tensors: one is fed to the train step, the other receives its outputs as pre-allocated fetches,
 * then the two swap. No tensor is allocated or copied by JavaScript per step.
 */
import { Tensor as OrtTensor } from "onnxruntime-node";
import { UserError } from "../../errors.js";
import { numel, zeros, type Tensor } from "../../onnx/tensor.js";
import type { StateSpec } from "./contract.js";

const sameDims = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

export class StateStore {
  private current: Map<string, OrtTensor>;
  private spare: Map<string, OrtTensor>;
  readonly specs: readonly StateSpec[];
  private readonly byName: Map<string, StateSpec>;

  constructor(specs: readonly StateSpec[], initial: Map<string, Tensor>) {
    this.specs = specs;
    this.byName = new Map(specs.map((s) => [s.name, s]));
    const problems = specs.flatMap((s) => checkTensor(s, initial.get(s.name)));
    if (problems.length) throw new UserError(`initial state does not match the manifest: ${problems.join("; ")}`);
    this.current = new Map(specs.map((s) => [s.name, toOrt(copyOf(initial.get(s.name)!))]));
    this.spare = new Map(specs.map((s) => [s.name, toOrt(zeros(s.dtype, s.dims))]));
  }

  /** Tensors to feed, by state name (owned by the store: do not keep them across steps). */
  feeds(): ReadonlyMap<string, OrtTensor> {
    return this.current;
  }

  /** Pre-allocated tensors for the train step to write the new state into, by state name. */
  fetches(): ReadonlyMap<string, OrtTensor> {
    return this.spare;
  }

  /** Makes the fetched tensors the current state. */
  commit(): void {
    [this.current, this.spare] = [this.spare, this.current];
  }

  spec(name: string): StateSpec | undefined {
    return this.byName.get(name);
  }

  /** A copy of one state tensor. */
  get(name: string): Tensor {
    const t = this.current.get(name);
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
    for (const [name, t] of values) (this.current.get(name)!.data as Tensor["data"]).set(t.data as never);
  }
}

function checkTensor(s: StateSpec, t: Tensor | undefined): string[] {
  if (!t) return [`'${s.name}' is missing`];
  const p: string[] = [];
  if (t.dtype !== s.dtype) p.push(`'${s.name}' is ${t.dtype}, expected ${s.dtype}`);
  if (!sameDims(t.dims, s.dims)) p.push(`'${s.name}' has dims [${t.dims}], expected [${s.dims}]`);
  else if (t.data.length !== numel(s.dims)) p.push(`'${s.name}' holds ${t.data.length} values, expected ${numel(s.dims)}`);
  return p;
}

function copyOf(t: Tensor): Tensor {
  const c = zeros(t.dtype, t.dims);
  c.data.set(t.data as never);
  return c;
}

export function toOrt(t: Tensor): OrtTensor {
  return new OrtTensor(t.dtype as "float32", t.data as Float32Array, t.dims);
}
