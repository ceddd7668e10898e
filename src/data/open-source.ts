import { UserError } from "../errors.js";
import type { CorruptPolicy } from "./file-examples.js";
import { subsetTrainSplit, type SplitOptions } from "./splits.js";
import { openCifar10 } from "./sources/cifar10.js";
import { openFashionMnist } from "./sources/fashion-mnist.js";
import { openFolder } from "./sources/folder.js";
import { openMnist } from "./sources/mnist.js";
import { openNpy } from "./sources/npy.js";
import type { Dataset, ImageShape } from "./types.js";

export const SOURCE_SPECS = ["fashion-mnist", "mnist", "cifar10:<dir>", "folder:<dir>", "npy:<x.npy>,<y.npy>"];

/** Options of openSource; each applies to the sources named. */
export interface OpenSourceOptions extends SplitOptions {
  /** mnist, folder, npy: fraction held out for test (defaults 0.2). fashion-mnist and cifar10 have fixed test sets. */
  testFraction?: number;
  /** fashion-mnist, mnist, folder: folder of the decoded-data cache (default node_modules/.cache/onnx-unlearn). */
  cacheDir?: string;
  /** folder: decode every file once into the pixel cache and read batches from it (default false). */
  pixelCache?: boolean;
  /** folder: progress of building the pixel cache. */
  onProgress?: (done: number, total: number) => void;
  /** folder: image shape (default: the first file's). */
  shape?: ImageShape;
  /** folder: resize images of another size (default false: error). */
  resize?: boolean;
  /** folder: a file that cannot be decoded stops the run ("stop", default) or is left out ("skip"). */
  onCorrupt?: CorruptPolicy;
  /** npy: number of classes (default: largest label + 1). */
  numClasses?: number;
}

/**
 * Opens a data source from its spec: `fashion-mnist`, `mnist`, `cifar10:<dir>`, `folder:<dir>` or
 * `npy:<x.npy>,<y.npy>`. Options that do not apply to the source are an error.
 */
export async function openSource(spec: string, options: OpenSourceOptions = {}): Promise<Dataset> {
  const { trainSubset, ...rest } = options;
  const dataset = await openBySpec(spec, rest);
  return trainSubset === undefined ? dataset : subsetTrainSplit(dataset, trainSubset, options.splitSeed);
}

async function openBySpec(spec: string, options: OpenSourceOptions): Promise<Dataset> {
  const colon = spec.indexOf(":");
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const arg = colon < 0 ? "" : spec.slice(colon + 1);
  const needArg = (what: string) => {
    if (!arg) throw new UserError(`source '${kind}' needs ${what}: ${kind}:${what}`, spec);
  };
  const refuse = (...names: (keyof OpenSourceOptions)[]) => {
    const given = names.filter((n) => options[n] !== undefined);
    if (given.length)
      throw new UserError(
        `option${given.length > 1 ? "s" : ""} ${given.join(", ")} do${given.length > 1 ? "" : "es"} not apply to source '${kind}'`,
        spec,
      );
  };
  switch (kind) {
    case "fashion-mnist":
      refuse("testFraction", "shape", "resize", "onCorrupt", "numClasses", "pixelCache");
      if (arg) throw new UserError("fashion-mnist takes no argument", spec);
      return openFashionMnist(options);
    case "mnist":
      refuse("shape", "resize", "onCorrupt", "numClasses", "pixelCache");
      if (arg) throw new UserError("mnist takes no argument", spec);
      return openMnist(options);
    case "cifar10":
      needArg("<dir>");
      refuse("testFraction", "cacheDir", "shape", "resize", "onCorrupt", "numClasses", "pixelCache");
      return openCifar10(arg, options);
    case "folder":
      needArg("<dir>");
      refuse("numClasses");
      return openFolder(arg, options);
    case "npy": {
      needArg("<x.npy>,<y.npy>");
      refuse("cacheDir", "shape", "resize", "onCorrupt", "pixelCache");
      const paths = arg.split(",");
      if (paths.length !== 2 || !paths[0] || !paths[1]) throw new UserError("expected npy:<x.npy>,<y.npy>", spec);
      return openNpy(paths[0], paths[1], options);
    }
    default:
      throw new UserError(`unknown data source '${kind}'; expected one of: ${SOURCE_SPECS.join(", ")}`, spec);
  }
}
