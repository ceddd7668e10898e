/**
 * `npm start`: the shipped fmnist-5k original (models/fmnist-5k, trained by our own `train`; its manifest says how)
 * unlearned with the default settings, then the original and the unlearned model evaluated side by side
 * (accuracies, membership inference), with the unlearned model, its run folder, report.html and quickstart.json
 * (the numbers, for scripts/readme-numbers.ts) in `outDir`.
 */
import { existsSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openSource, parseForgetSpec, selectForget } from "../data/index.js";
import { evaluateTarget, type EvalRecord } from "../evaluation/eval-cache.js";
import { renderReport, writeReport, type ReportModel } from "../evaluation/report/index.js";
import { trueClassLogits } from "../evaluation/report/from-runs.js";
import { UserError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { MODEL_FILE, readManifest, runEnvironment, type RunEnvironment } from "../runs/index.js";
import { type ExecutionProvider, trainingLoopOptions, type TrainingLoopOptions } from "../training/session/index.js";
import type { UnlearnConfigInput } from "../unlearning/config.js";
import type { EventSink } from "./events.js";
import { unlearn } from "./unlearn.js";

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The shipped model and the data it was trained on (suite fmnist-5k). */
export const SHIPPED = {
  dir: join(packageRoot, "models", "fmnist-5k"),
  data: "fashion-mnist",
  sourceOptions: { trainSubset: 5000 },
  forgetIds: join(packageRoot, "models", "fmnist-5k", "forget-ids.json"),
  normalise: { mean: [0.286], std: [0.353] },
};

export interface QuickstartOptions extends TrainingLoopOptions {
  outDir: string;
  /** Unlearning options (default: the `unlearn` defaults). */
  config?: UnlearnConfigInput;
  seed?: number;
  executionProvider?: ExecutionProvider;
  intraOpThreads?: number;
  /** Refuse to start when the peak-memory estimate is above this (bytes or "8GiB"); default: the machine's memory. */
  memoryBudget?: number | string;
  onEvent?: EventSink;
}

export interface QuickstartResult {
  /** split -> model -> accuracy (fraction). */
  rows: { name: string; retain: number; forget: number; test: number; mia: number | null; seconds: number }[];
  runDir: string;
  report: string;
}

/** quickstart.json: the rows, the whole command's wall time and where it ran. */
export interface QuickstartRecord {
  rows: QuickstartResult["rows"];
  /** From the start of the unlearning to the report written. */
  seconds: number;
  finished: string;
  threads: number | null;
  /** The machine's 1-minute load average when it finished (other work slows it down). */
  load: number;
  /** The unlearned run's environment (package, onnxruntime, node, commit, host). */
  environment: RunEnvironment;
}

export async function quickstart(o: QuickstartOptions): Promise<QuickstartResult> {
  const started = performance.now();
  const original = join(SHIPPED.dir, MODEL_FILE);
  if (!existsSync(original))
    throw new UserError("the shipped model is missing (models/fmnist-5k/model.onnx)", original);
  const runDir = join(o.outDir, "unlearned");
  const forgetSpec = `ids:${SHIPPED.forgetIds}`;
  await unlearn({
    model: original,
    data: SHIPPED.data,
    sourceOptions: SHIPPED.sourceOptions,
    forget: forgetSpec,
    normalise: SHIPPED.normalise,
    config: o.config,
    seed: o.seed,
    out: runDir,
    executionProvider: o.executionProvider,
    intraOpThreads: o.intraOpThreads,
    ...trainingLoopOptions(o),
    memoryBudget: o.memoryBudget,
    onEvent: o.onEvent,
  });
  const dataset = await openSource(SHIPPED.data, SHIPPED.sourceOptions);
  const forget = selectForget(dataset, parseForgetSpec(forgetSpec));
  const common = {
    dataset,
    forget,
    normalisation: SHIPPED.normalise,
    dataOptions: SHIPPED.sourceOptions,
    executionProvider: o.executionProvider,
    intraOpThreads: o.intraOpThreads,
    memoryBudget: o.memoryBudget,
  };
  const before = (await evaluateTarget({ ...common, target: original })).record;
  const after = (await evaluateTarget({ ...common, target: runDir })).record;
  const seconds = {
    original: readManifest(SHIPPED.dir)?.seconds.total ?? NaN,
    unlearned: readManifest(runDir)?.seconds.total ?? NaN,
  };
  const row = (name: keyof typeof seconds, r: EvalRecord) => ({
    name,
    retain: r.evaluation.splits.retain?.accuracy ?? NaN,
    forget: r.evaluation.splits.forget?.accuracy ?? NaN,
    test: r.evaluation.splits.test?.accuracy ?? NaN,
    mia: r.evaluation.mia?.accuracy ?? null,
    seconds: seconds[name],
  });
  const rows = [row("original", before), row("unlearned", after)];
  const models: ReportModel[] = rows.map((r, i) => {
    const rec = i === 0 ? before : after;
    return {
      name: r.name,
      role: i === 0 ? "original" : "unlearned",
      runs: 1,
      logits: trueClassLogits([rec]),
      accuracy: { retain: 100 * r.retain, forget: 100 * r.forget, test: 100 * r.test },
      ...(r.mia === null ? {} : { mia: r.mia }),
      secondsPerRun: r.seconds,
    };
  });
  const report = join(o.outDir, "report.html");
  const m = readManifest(runDir);
  await writeReport(
    await renderReport({
      title: "onnx-unlearn quick start: the shipped fmnist-5k model, unlearned",
      logitsLabel: "logit of the true class",
      models,
      facts: {
        dataSource: `${SHIPPED.data} (train subset 5000)`,
        forgetIdsHash: m?.forget?.idsSha256,
        originalModelHash: m?.input.sha256,
        commit: m?.environment.commit,
        host: m?.environment.host.name,
        date: m?.finished,
      },
    }),
    { out: report },
  );
  const record: QuickstartRecord = {
    rows,
    seconds: (performance.now() - started) / 1000,
    finished: new Date().toISOString(),
    threads: o.intraOpThreads ?? null,
    load: loadavg()[0]!,
    environment: m?.environment ?? runEnvironment(),
  };
  writeFileAtomic(join(o.outDir, "quickstart.json"), new TextEncoder().encode(JSON.stringify(record, null, 2) + "\n"));
  return { rows, runDir, report };
}
