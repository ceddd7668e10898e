// Shared by the two-checkout scripts (step-ab.ts, step-parity.ts): code of another checkout, loaded in this process.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

/** Imports `path` (e.g. "src/training/benchmark.ts") from the checkout at `root`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const importFrom = (root: string, path: string): Promise<any> => import(pathToFileURL(resolve(root, path)).href);

/** [channels, image size] of the zoo model's samples: resnet18w8 is Fashion-MNIST sized, the others CIFAR sized. */
export const sampleShape = (model: string): [number, number] => (model === "resnet18w8" ? [1, 28] : [3, 32]);

/** Train-step artifacts (MSE to the embedded teacher) for a zoo model, built by the checkout's own code. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function zooArtifacts(root: string, model: string): Promise<any> {
  const [channels, imageSize] = sampleShape(model);
  const { buildZooModel } = await importFrom(root, "src/models/index.ts");
  const { loadModel } = await importFrom(root, "src/onnx/model-io.ts");
  const { encodeModel } = await importFrom(root, "src/onnx/proto.ts");
  const { buildArtifacts } = await importFrom(root, "src/training/artifacts/index.ts");
  const zoo = buildZooModel(model, { channels, imageSize, classes: 10 });
  return buildArtifacts(loadModel(encodeModel(zoo), { name: `${model}.onnx` }), { loss: "mse", teacher: true });
}
