/** The shape of one image, channels first (the model input is [N, channels, height, width]). */
export interface ImageShape {
  channels: number;
  height: number;
  width: number;
}

export function imageSize(shape: ImageShape): number {
  return shape.channels * shape.height * shape.width;
}

/** Throws a RangeError (a caller's bug, not bad input) naming `method` when a position is outside 0..count-1. */
export function checkPositions(method: string, positions: ArrayLike<number>, count: number): void {
  for (let k = 0; k < positions.length; k++) {
    const p = positions[k];
    if (!(p >= 0 && p < count)) throw new RangeError(`${method}: position ${p} outside 0..${count - 1}`);
  }
}

/** The checks of Examples.readImages' arguments; returns the floats per image. */
export function checkReadImages(examples: Examples, positions: ArrayLike<number>, out: Float32Array): number {
  const size = imageSize(examples.shape);
  if (out.length < positions.length * size)
    throw new Error(`readImages: out holds ${out.length} floats, need ${positions.length * size}`);
  checkPositions("readImages", positions, examples.count);
  return size;
}

export function formatShape(shape: ImageShape): string {
  return `${shape.channels}x${shape.height}x${shape.width}`;
}

/** An example that could not be read (a corrupt file skipped by policy). */
export interface ReadFailure {
  /** Position in the collection that was asked. */
  index: number;
  id: number;
  /** Names the file and what went wrong. */
  message: string;
}

/**
 * An ordered collection of labelled images. Positions 0..count-1 index `ids` and `labels`; the id of an
 * example is its index in its source's order and never changes, whatever subset it is in.
 */
export interface Examples {
  readonly shape: ImageShape;
  readonly numClasses: number;
  readonly count: number;
  /** ids[i]: stable id of the example at position i. */
  readonly ids: Int32Array;
  /** labels[i]: class of the example at position i, in [0, numClasses). */
  readonly labels: Int32Array;
  /**
   * Writes the images at `positions` into `out` (one image of C*H*W floats after another, channels first) on
   * the source's own scale: 8-bit images become value/255 in [0, 1], float images are copied as they are.
   * Returns the examples that could not be read when the source is told to skip corrupt files; with the
   * default policy a corrupt file is a UserError naming it.
   */
  readImages(positions: ArrayLike<number>, out: Float32Array): Promise<ReadFailure[]>;
  /** A view of the examples at `positions` (in that order); it shares storage with this collection. */
  select(positions: ArrayLike<number>): Examples;
  /**
   * A copy that holds only its own examples and no reference to any other: nothing reachable from it can
   * read an example that is not in it.
   */
  detach(): Examples;
  /** What this object can reach: the number of examples its storage holds and their bytes. */
  storage(): { examples: number; bytes: number };
}

export type SplitName = "train" | "validation" | "test";

/** An opened data source with its fixed splits. Every split is a view of `all`. */
export interface Dataset {
  /** The source spec it was opened from, e.g. "fashion-mnist" or "folder:/data/imgs". */
  readonly spec: string;
  readonly shape: ImageShape;
  readonly numClasses: number;
  readonly classNames: string[];
  /** Every example, in the source's order. */
  readonly all: Examples;
  readonly train: Examples;
  readonly validation: Examples;
  readonly test: Examples;
  /** What the source did to the raw data (skipped, dropped, how it split), one sentence each. */
  readonly notes: string[];
}
