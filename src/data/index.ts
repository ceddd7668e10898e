/** The data layer's public API: sources, splits, forget/retain sets, batches, normalisation, model checks. */
export type { Dataset, Examples, ImageShape, ReadFailure, SplitName } from "./types.js";
export { formatShape, imageSize } from "./types.js";
export { openSource, SOURCE_SPECS, type OpenSourceOptions } from "./open-source.js";
export {
  openFashionMnist,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_TEST_SIZE,
  type FashionMnistOptions,
} from "./sources/fashion-mnist.js";
export { openMnist, type MnistOptions } from "./sources/mnist.js";
export { openCifar10, CIFAR10_CLASSES, type Cifar10Options } from "./sources/cifar10.js";
export { openFolder, IMAGE_EXTENSIONS, type FolderOptions } from "./sources/folder.js";
export { openNpy, type NpyOptions } from "./sources/npy.js";
export { MemoryExamples, type MemoryExamplesOptions } from "./memory-examples.js";
export { FileExamples, type CorruptPolicy, type FileExamplesOptions } from "./file-examples.js";
export {
  buildDataset,
  DEFAULT_SPLIT_SEED,
  subsetTrainSplit,
  type SplitOptions,
  type TestSplitOptions,
} from "./splits.js";
export {
  FORGET_SPEC_FORMS,
  parseForgetSpec,
  readIdList,
  retainOnlyView,
  selectForget,
  splitTrain,
  writeForgetList,
  type ForgetSet,
  type ForgetSpec,
  type SelectForgetOptions,
} from "./forget.js";
export { batchCount, evaluationBatches, trainingBatches, type Batch, type BatchOptions } from "./batches.js";
export {
  checkNormalisation,
  computeNormalisation,
  resolveNormalisation,
  type Normalisation,
  type NormalisationRequest,
} from "./normalise.js";
export { checkAgainstModel, type ModelInputCheck } from "./validate.js";
export { summariseDataset, type DatasetSummary, type SplitSummary } from "./summary.js";
export { rngFor, type Rng, type Seed } from "./random.js";
export { datasetIdentity, splitIdentity, type DatasetIdentity, type SplitIdentity } from "./identity.js";
export { retainOnly, retainOnlyOf, type RetainOnly } from "./retain-only.js";
export { batchBytes, heldImageBytes } from "./memory.js";
