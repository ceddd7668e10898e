/**
 * The data side of a job: the source opened, the forget set selected (when one is given), the retain-only view
 * the methods train on, the normalisation resolved, and the identity recorded in manifests.
 */
import {
  datasetIdentity,
  openSource,
  resolveNormalisation,
  parseForgetSpec,
  retainOnly,
  selectForget,
  type Dataset,
  type DatasetIdentity,
  type ForgetSet,
  type Normalisation,
  type NormalisationRequest,
  type OpenSourceOptions,
  type RetainOnly,
} from "../data/index.js";
import { UserError } from "../errors.js";
import { sha256Ids } from "../runs/index.js";

export interface DataRequest {
  /** Source spec: fashion-mnist, mnist, cifar10:<dir>, folder:<dir>, npy:<x>,<y>. */
  source: string;
  sourceOptions?: OpenSourceOptions;
  /** Forget spec (forget.ts forms), selected among the train split. */
  forget?: string;
  /** Seed of a random forget draw (separate from the run seed). Default 0. */
  forgetSeed?: number;
  /** The source already holds only the retain data: no forget spec, the train split is the retain set. */
  retainOnly?: boolean;
  /** "none" (images in [0, 1]), "auto" (mean/std of the retain set) or given per channel. Default "none". */
  normalise?: NormalisationRequest;
}

export interface JobData {
  dataset: Dataset;
  forget?: ForgetSet;
  /** The train split minus the forget set, detached: nothing reachable from it can read a forget example. */
  retain: RetainOnly;
  normalisation?: Normalisation;
  identity: DatasetIdentity;
  /** For the manifest. */
  retainRecord: { count: number; idsSha256: string };
  forgetRecord?: { spec: string; count: number; idsSha256: string };
}

export async function openJobData(r: DataRequest): Promise<JobData> {
  if (r.retainOnly && r.forget !== undefined) {
    throw new UserError(
      "--retain-only and --forget exclude each other: a retain-only source has no forget examples to select",
    );
  }
  const dataset = await openSource(r.source, r.sourceOptions ?? {});
  const forget =
    r.forget === undefined ? undefined : selectForget(dataset, parseForgetSpec(r.forget), { seed: r.forgetSeed ?? 0 });
  const retain = retainOnly(dataset, forget);
  const normalisation = await resolveNormalisation(r.normalise, retain, dataset.shape.channels);
  const { cacheDir: _cache, onProgress: _progress, pixelCache: _pixels, ...shaping } = r.sourceOptions ?? {};
  return {
    dataset,
    forget,
    retain,
    normalisation,
    identity: datasetIdentity(dataset, shaping),
    retainRecord: { count: retain.count, idsSha256: sha256Ids(retain.ids) },
    forgetRecord: forget && { spec: forget.description, count: forget.ids.length, idsSha256: sha256Ids(forget.ids) },
  };
}
