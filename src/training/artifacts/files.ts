/**
 * The artifacts folder: train_step.onnx, eval.onnx, state.safetensors (the state, keyed by state name, in
 * manifest order) and manifest.json. Every file is written atomically; reading checks that the state file
 * holds exactly the manifest's tensors with the manifest's dtypes and dims.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../../errors.js";
import { writeFileAtomic } from "../../io/atomic-write.js";
import { readSafetensors, writeSafetensors } from "../../io/safetensors.js";
import { loadModel, saveModel } from "../../onnx/model-io.js";
import type { Tensor } from "../../onnx/tensor.js";
import { FILES, type Artifacts } from "./build.js";
import { parseManifest } from "./manifest.js";

export function writeArtifacts(dir: string, a: Artifacts): void {
  mkdirSync(dir, { recursive: true });
  saveModel(a.trainStep, join(dir, FILES.trainStep));
  saveModel(a.eval, join(dir, FILES.eval));
  writeSafetensors(join(dir, FILES.state), a.initialState, {
    format: "onnx-unlearn-state",
    manifestVersion: String(a.manifest.version),
  });
  writeFileAtomic(join(dir, FILES.manifest), new TextEncoder().encode(`${JSON.stringify(a.manifest, null, 2)}\n`));
}

export function readArtifacts(dir: string): Artifacts {
  const missing = Object.values(FILES).filter((f) => !existsSync(join(dir, f)));
  if (missing.length) throw new UserError(`is not an artifacts folder: missing ${missing.join(", ")}`, dir);
  const manifestFile = join(dir, FILES.manifest);
  const manifest = parseManifest(readFileSync(manifestFile, "utf8"), manifestFile);
  const stateFile = join(dir, manifest.files.state);
  const { tensors } = readSafetensors(stateFile);
  checkState(tensors, manifest.state, stateFile);
  return {
    trainStep: loadModel(join(dir, manifest.files.trainStep)).proto,
    eval: loadModel(join(dir, manifest.files.eval)).proto,
    initialState: new Map(manifest.state.map((s) => [s.name, tensors.get(s.name)!])),
    manifest,
  };
}

/** Every manifest state tensor present with its dtype and dims, nothing else; lists every problem. */
function checkState(
  tensors: Map<string, Tensor>,
  entries: { name: string; dtype: string; dims: number[] }[],
  file: string,
): void {
  const problems: string[] = [];
  const names = new Set(entries.map((e) => e.name));
  for (const e of entries) {
    const t = tensors.get(e.name);
    if (!t) problems.push(`'${e.name}' is missing`);
    else if (t.dtype !== e.dtype || t.dims.join(",") !== e.dims.join(",")) {
      problems.push(`'${e.name}' is ${t.dtype} [${t.dims}], expected ${e.dtype} [${e.dims}]`);
    }
  }
  for (const n of tensors.keys()) if (!names.has(n)) problems.push(`'${n}' is not in the manifest`);
  if (problems.length) throw new UserError(`state does not match the manifest: ${problems.join("; ")}`, file);
}
