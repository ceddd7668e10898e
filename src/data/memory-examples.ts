import type { Examples, ImageShape, ReadFailure } from "./types.js";
import { checkPositions, checkReadImages, imageSize } from "./types.js";

export interface MemoryExamplesOptions {
  shape: ImageShape;
  numClasses: number;
  /** Pixels of `rows` images, C*H*W each, channels first: uint8 (scaled by 1/255 when read) or float32. */
  pixels: Uint8Array | Float32Array;
  ids: Int32Array;
  labels: Int32Array;
  /** rows[i]: the row of `pixels` holding example i; default: example i is row i. */
  rows?: Int32Array;
}

/** Examples held in memory (the packaged data sets, CIFAR binaries, NPY). */
export class MemoryExamples implements Examples {
  readonly shape: ImageShape;
  readonly numClasses: number;
  readonly ids: Int32Array;
  readonly labels: Int32Array;
  readonly #pixels: Uint8Array | Float32Array;
  readonly #rows: Int32Array;

  constructor(options: MemoryExamplesOptions) {
    const { shape, numClasses, pixels, ids, labels } = options;
    const size = imageSize(shape);
    const rows = options.rows ?? Int32Array.from({ length: ids.length }, (_, i) => i);
    if (labels.length !== ids.length || rows.length !== ids.length) {
      throw new Error(`MemoryExamples: ${ids.length} ids, ${labels.length} labels, ${rows.length} rows`);
    }
    if (pixels.length % size !== 0)
      throw new Error(`MemoryExamples: ${pixels.length} pixels is not a multiple of ${size}`);
    this.shape = shape;
    this.numClasses = numClasses;
    this.#pixels = pixels;
    this.ids = ids;
    this.labels = labels;
    this.#rows = rows;
  }

  get count(): number {
    return this.ids.length;
  }

  /** Memory never fails: the list of failures is always empty. */
  async readImages(positions: ArrayLike<number>, out: Float32Array): Promise<ReadFailure[]> {
    const size = checkReadImages(this, positions, out);
    const src = this.#pixels;
    const scale = src instanceof Uint8Array ? 1 / 255 : 1;
    for (let k = 0; k < positions.length; k++) {
      const from = this.#rows[positions[k]] * size;
      const to = k * size;
      if (scale === 1) out.set(src.subarray(from, from + size), to);
      else for (let j = 0; j < size; j++) out[to + j] = src[from + j] * scale;
    }
    return [];
  }

  select(positions: ArrayLike<number>): MemoryExamples {
    checkPositions("select", positions, this.count);
    const n = positions.length;
    const ids = new Int32Array(n),
      labels = new Int32Array(n),
      rows = new Int32Array(n);
    for (let k = 0; k < n; k++) {
      const p = positions[k];
      ids[k] = this.ids[p];
      labels[k] = this.labels[p];
      rows[k] = this.#rows[p];
    }
    return new MemoryExamples({
      shape: this.shape,
      numClasses: this.numClasses,
      pixels: this.#pixels,
      ids,
      labels,
      rows,
    });
  }

  detach(): MemoryExamples {
    const size = imageSize(this.shape);
    const n = this.count;
    const pixels = this.#pixels instanceof Uint8Array ? new Uint8Array(n * size) : new Float32Array(n * size);
    for (let k = 0; k < n; k++) {
      const from = this.#rows[k] * size;
      pixels.set(this.#pixels.subarray(from, from + size), k * size);
    }
    return new MemoryExamples({
      shape: this.shape,
      numClasses: this.numClasses,
      pixels,
      ids: this.ids.slice(),
      labels: this.labels.slice(),
    });
  }

  storage(): { examples: number; bytes: number } {
    return { examples: this.#pixels.length / imageSize(this.shape), bytes: this.#pixels.byteLength };
  }
}
