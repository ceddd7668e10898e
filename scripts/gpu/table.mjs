// Prints the short comparison table of scripts/gpu/check-and-time.sh from its two JSON files.
// usage: node scripts/gpu/table.mjs ort.json torch.json
import { existsSync, readFileSync } from "node:fs";

const read = (f) => (existsSync(f) ? JSON.parse(readFileSync(f, "utf8")) : { timings: [] });
const [ort, torch] = [read(process.argv[2]), read(process.argv[3])];
const lines = [];
if (ort.parity?.error) lines.push(`parity ${ort.parity.providers.join(" vs ")}: FAILED ${ort.parity.error}`);
else if (ort.parity) {
  const p = ort.parity;
  lines.push(
    `parity ${p.providers.join(" vs ")} (3 steps, batch ${p.batch}): loss rel err ${p.lossRelErr.toExponential(2)}, params ${p.paramsRelErr.toExponential(2)}, updates ${p.updateRelErr.toExponential(2)} -> ${p.pass ? "PASS" : "FAIL"} (limit 1e-3)`,
  );
}
lines.push(
  `GPU: ${torch.gpu ?? "?"}; torch ${torch.torch ?? "?"} (tf32 conv ${torch.tf32?.cudnn}, matmul ${torch.tf32?.matmul}); ours: ${ort.model ?? "?"}, BN form ${ort.batchNorm ?? "?"}; ${ort.cpus ?? ""}`,
);
lines.push("| device | batch | PyTorch ms/step | PyTorch img/s | ours K | ours ms/step | ours img/s | ours/PyTorch |");
lines.push("|---|---|---|---|---|---|---|---|");
const ours = ort.timings.filter((t) => !t.error);
for (const t of torch.timings.filter((x) => !x.error)) {
  const mine = ours.filter((o) => o.executionProvider === t.device && o.batch === t.batch);
  if (mine.length === 0)
    lines.push(
      `| ${t.device} | ${t.batch} | ${t.msPerStep.toFixed(2)} | ${t.imagesPerSecond.toFixed(0)} | - | - | - | - |`,
    );
  for (const o of mine) {
    lines.push(
      `| ${t.device} | ${t.batch} | ${t.msPerStep.toFixed(2)} | ${t.imagesPerSecond.toFixed(0)} | ${o.stepsPerRun}${o.allowSpinning ? " spin" : ""} | ${o.msPerStep.toFixed(2)} | ${o.imagesPerSecond.toFixed(0)} | ${(o.imagesPerSecond / t.imagesPerSecond).toFixed(2)}x |`,
    );
  }
}
for (const o of ours.filter(
  (o) => !torch.timings.some((t) => t.device === o.executionProvider && t.batch === o.batch),
)) {
  lines.push(
    `| ${o.executionProvider} | ${o.batch} | - | - | ${o.stepsPerRun}${o.allowSpinning ? " spin" : ""} | ${o.msPerStep.toFixed(2)} | ${o.imagesPerSecond.toFixed(0)} | - |`,
  );
}
for (const e of [...ort.timings, ...torch.timings].filter((x) => x.error))
  lines.push(`error: ${e.stack} ${e.executionProvider ?? e.device} batch ${e.batch ?? ""}: ${e.error}`);
process.stdout.write(`${lines.join("\n")}\n`);
