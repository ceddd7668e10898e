/**
 * Examples stored as image files (PNG, JPEG, ...), decoded on demand with sharp, so memory holds only paths and
 * the images of the batches in flight.
 */
import sharp from "sharp";
import { UserError } from "../errors.js";
import { MAX_IMAGE_PIXELS } from "./sources/image-limits.js";
import type { Examples, ImageShape, ReadFailure } from "./types.js";
import { checkPositions, checkReadImages, formatShape } from "./types.js";

export type CorruptPolicy = "stop" | "skip";

export interface FileExamplesOptions {
  shape: ImageShape;
  numClasses: number;
  files: string[];
  ids: Int32Array;
  labels: Int32Array;
  /** Resize images of another size to `shape` (stretching, no crop); default false: such an image is an error. */
  resize?: boolean;
  /** A file that cannot be decoded: "stop" (default) throws a UserError naming it, "skip" leaves it out. */
  onCorrupt?: CorruptPolicy;
}

export class FileExamples implements Examples {
  readonly shape: ImageShape;
  readonly numClasses: number;
  readonly ids: Int32Array;
  readonly labels: Int32Array;
  readonly #files: string[];
  readonly #resize: boolean;
  readonly #onCorrupt: CorruptPolicy;

  constructor(options: FileExamplesOptions) {
    if (options.files.length !== options.ids.length || options.labels.length !== options.ids.length) {
      throw new Error(
        `FileExamples: ${options.files.length} files, ${options.ids.length} ids, ${options.labels.length} labels`,
      );
    }
    this.shape = options.shape;
    this.numClasses = options.numClasses;
    this.#files = options.files;
    this.ids = options.ids;
    this.labels = options.labels;
    this.#resize = options.resize ?? false;
    this.#onCorrupt = options.onCorrupt ?? "stop";
  }

  get count(): number {
    return this.ids.length;
  }

  /** The file of the example at `position` (for messages and audits). */
  fileOf(position: number): string {
    return this.#files[position];
  }

  async readImages(positions: ArrayLike<number>, out: Float32Array): Promise<ReadFailure[]> {
    const size = checkReadImages(this, positions, out);
    const results = await Promise.all(
      Array.from(positions, async (p, k) => {
        try {
          await this.#decodeInto(p, out.subarray(k * size, (k + 1) * size));
          return undefined;
        } catch (e) {
          if (e instanceof UserError) throw e;
          const why = (e as Error).message.trim().split("\n")[0];
          const message = `${this.#files[p]}: cannot decode image (id ${this.ids[p]}): ${why}`;
          if (this.#onCorrupt === "stop")
            throw new UserError(`${message} (use the skip policy for corrupt files to leave it out)`);
          return { index: p, id: this.ids[p], message } satisfies ReadFailure;
        }
      }),
    );
    return results.filter((r): r is ReadFailure => r !== undefined);
  }

  async #decodeInto(position: number, out: Float32Array): Promise<void> {
    const file = this.#files[position];
    const { channels, height, width } = this.shape;
    // sharp reads the header first and refuses an image above the pixel limit before decoding it
    let image = sharp(file, { failOn: "error", limitInputPixels: MAX_IMAGE_PIXELS }).removeAlpha();
    image = channels === 1 ? image.greyscale() : image.toColourspace("srgb");
    if (this.#resize) image = image.resize(width, height, { fit: "fill" });
    const { data, info } = await image.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
    if (info.width !== width || info.height !== height || info.channels !== channels) {
      throw new UserError(
        `image (id ${this.ids[position]}) is ${info.channels}x${info.height}x${info.width}, expected ${formatShape(this.shape)} (channels x height x width); resize option off`,
        file,
      );
    }
    const plane = height * width;
    for (let c = 0; c < channels; c++) {
      for (let i = 0; i < plane; i++) out[c * plane + i] = data[i * channels + c] / 255;
    }
  }

  select(positions: ArrayLike<number>): FileExamples {
    checkPositions("select", positions, this.count);
    const files: string[] = [];
    const ids = new Int32Array(positions.length),
      labels = new Int32Array(positions.length);
    for (let k = 0; k < positions.length; k++) {
      const p = positions[k];
      files.push(this.#files[p]);
      ids[k] = this.ids[p];
      labels[k] = this.labels[p];
    }
    return new FileExamples({
      shape: this.shape,
      numClasses: this.numClasses,
      files,
      ids,
      labels,
      resize: this.#resize,
      onCorrupt: this.#onCorrupt,
    });
  }

  /** select() already keeps only the selected paths, so a copy of this object is all that is needed. */
  detach(): FileExamples {
    return this.select(Int32Array.from({ length: this.count }, (_, i) => i));
  }

  storage(): { examples: number; bytes: number } {
    return { examples: this.#files.length, bytes: 0 };
  }
}
