/**
 * A data source wrapper for forget-free checks: an Examples (and a Dataset of them) on which reading any forget
 * example throws, whichever way it is asked for: readImages at its position, or detach() of a collection that
 * holds it (MemoryExamples.detach copies pixels without readImages, so the copy is guarded too).
 */
import type { Dataset, Examples, ReadFailure } from "../../src/data/index.js";

export class ForgetRead extends Error {}

export class GuardedExamples implements Examples {
  constructor(
    readonly inner: Examples,
    readonly forbidden: ReadonlySet<number>,
    /** Every read that reached the inner collection, by id: the test can check what was read. */
    readonly reads: Set<number> = new Set(),
  ) {}

  get shape() {
    return this.inner.shape;
  }
  get numClasses() {
    return this.inner.numClasses;
  }
  get count() {
    return this.inner.count;
  }
  get ids() {
    return this.inner.ids;
  }
  get labels() {
    return this.inner.labels;
  }

  async readImages(positions: ArrayLike<number>, out: Float32Array): Promise<ReadFailure[]> {
    for (let k = 0; k < positions.length; k++) {
      const id = this.inner.ids[positions[k]!]!;
      if (this.forbidden.has(id)) throw new ForgetRead(`forget example ${id} was read (position ${positions[k]})`);
    }
    for (let k = 0; k < positions.length; k++) this.reads.add(this.inner.ids[positions[k]!]!);
    return this.inner.readImages(positions, out);
  }

  select(positions: ArrayLike<number>): Examples {
    return new GuardedExamples(this.inner.select(positions), this.forbidden, this.reads);
  }

  detach(): Examples {
    const held = this.inner.ids.filter((id) => this.forbidden.has(id));
    if (held.length) throw new ForgetRead(`detach() of a collection holding ${held.length} forget examples`);
    return new GuardedExamples(this.inner.detach(), this.forbidden, this.reads);
  }

  storage() {
    return this.inner.storage();
  }
}

/** `dataset` with every split guarded against reading the `forbidden` ids. */
export function guardedDataset(dataset: Dataset, forbidden: ReadonlySet<number>, reads = new Set<number>()): Dataset {
  const guard = (e: Examples) => new GuardedExamples(e, forbidden, reads);
  return {
    spec: dataset.spec,
    shape: dataset.shape,
    numClasses: dataset.numClasses,
    classNames: dataset.classNames,
    notes: dataset.notes,
    all: guard(dataset.all),
    train: guard(dataset.train),
    validation: guard(dataset.validation),
    test: guard(dataset.test),
  };
}
