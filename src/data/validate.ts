import { throwProblems } from "./problems.js";
import { classCounts } from "./random.js";
import type { Examples } from "./types.js";
import { formatShape } from "./types.js";

export interface ModelInputCheck {
  /** The model's input dims [N, C, H, W]; a symbolic or unknown dim (string, undefined, <= 0) matches anything. */
  inputDims: readonly (number | bigint | string | undefined | null)[];
  /** Number of model outputs (classes); every label must be below it. */
  numClasses?: number;
  /** Names the model in messages (e.g. its file and input name). */
  model: string;
  /** Names the data in messages (e.g. the source spec). */
  data: string;
}

/**
 * Checks that the data fits the model: image channels and size equal to the model input's, labels below the
 * model's number of classes. Throws one UserError listing every mismatch.
 */
export function checkAgainstModel(
  examples: Pick<Examples, "shape" | "numClasses"> & { labels?: Int32Array },
  check: ModelInputCheck,
): void {
  const problems: string[] = [];
  const dims = check.inputDims.map((d) => (typeof d === "bigint" ? Number(d) : d));
  const known = (d: unknown): d is number => typeof d === "number" && d > 0;
  if (dims.length !== 4) {
    problems.push(`model input has ${dims.length} dims [${dims.join(", ")}], expected [N, C, H, W]`);
  } else {
    const { channels, height, width } = examples.shape;
    const [, c, h, w] = dims;
    if (known(c) && c !== channels) problems.push(`images have ${channels} channels, the model expects ${c}`);
    if ((known(h) && h !== height) || (known(w) && w !== width)) {
      problems.push(`images are ${height}x${width} (${formatShape(examples.shape)}), the model expects ${h}x${w}`);
    }
  }
  if (check.numClasses !== undefined && examples.labels) {
    const counts = classCounts(examples.labels, Math.max(examples.numClasses, check.numClasses));
    const over = counts
      .map((n, c) => (c >= check.numClasses! && n > 0 ? `${n} examples of class ${c}` : ""))
      .filter(Boolean);
    if (over.length)
      problems.push(`labels out of range for a model with ${check.numClasses} classes: ${over.join(", ")}`);
  }
  throwProblems(check.data, `does not fit model ${check.model}`, problems);
}
