/**
 * Challenge-score benchmark: `npm run bench:score -- [--json out.json] [--models 512] [--examples 1000]`.
 * Synthetic confidences for N models per side and S forget examples (a mix of the cases the score meets:
 * identical, shifted, narrower and wider unlearned spreads, skewed), then forgetScore end to end (per-example
 * epsilons of both attack families, buckets, 1,000-resample bootstrap). Prints wall-clock seconds and the load
 * average, since the machine may be shared.
 */
import { cpus, loadavg } from "node:os";
import { rngFor } from "../src/data/random.js";
import { forgetScore } from "../src/evaluation/challenge-score/index.js";
import { writeFileAtomic } from "../src/io/atomic-write.js";

function parseArgs(argv: string[]): { json?: string; models: number; examples: number } {
  const a = { json: undefined as string | undefined, models: 512, examples: 1000 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--json") a.json = argv[++i];
    else if (argv[i] === "--models") a.models = Number(argv[++i]);
    else if (argv[i] === "--examples") a.examples = Number(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return a;
}

function synthetic(N: number, S: number): { unlearned: number[][]; retrained: number[][] } {
  const rng = rngFor(0, "bench-score");
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const unlearned = Array.from({ length: N }, () => new Array<number>(S));
  const retrained = Array.from({ length: N }, () => new Array<number>(S));
  for (let s = 0; s < S; s++) {
    const mu = -2 + 8 * rng();
    const sd = 0.5 + 1.5 * rng();
    const kind = s % 5;
    for (let i = 0; i < N; i++) {
      retrained[i]![s] = mu + sd * gauss();
      const z = gauss();
      unlearned[i]![s] =
        kind === 0
          ? mu + sd * z
          : kind === 1
            ? mu + sd * (0.5 + z)
            : kind === 2
              ? mu + 0.5 * sd * z
              : kind === 3
                ? mu + 2 * sd * z
                : mu - sd * Math.log(-Math.log(1 - rng())); // Gumbel: skewed
    }
  }
  return { unlearned, retrained };
}

const args = parseArgs(process.argv.slice(2));
const { unlearned, retrained } = synthetic(args.models, args.examples);
const load = loadavg();
const t0 = performance.now();
const f = forgetScore(unlearned, retrained);
const seconds = (performance.now() - t0) / 1000;
const loadAfter = loadavg();
const result = {
  N: f.N,
  S: f.S,
  seconds: Number(seconds.toFixed(3)),
  msPerExample: Number(((seconds * 1000) / f.S).toFixed(3)),
  F: f.F,
  F_interval: [f.interval.low, f.interval.high],
  loadavgBefore: load.map((x) => Number(x.toFixed(2))),
  loadavgAfter: loadAfter.map((x) => Number(x.toFixed(2))),
  cpus: cpus().length,
  cpu: cpus()[0]?.model,
  node: process.version,
  date: new Date().toISOString(),
};
process.stdout.write(
  `challenge score, N = ${f.N} models per side, S = ${f.S} forget examples: ${seconds.toFixed(2)} s ` +
    `(${result.msPerExample} ms per example), F = ${f.F.toFixed(4)}\n` +
    `load average ${load.map((x) => x.toFixed(2)).join(" ")} before, ${loadAfter.map((x) => x.toFixed(2)).join(" ")} ` +
    `after, on ${result.cpus} CPUs (${result.cpu})\n`,
);
if (args.json) writeFileAtomic(args.json, new TextEncoder().encode(`${JSON.stringify(result, null, 2)}\n`));
