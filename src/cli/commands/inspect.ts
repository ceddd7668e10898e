import type { Command } from "commander";
import { layerInventory, type Inventory } from "../../onnx/layers.js";
import { loadModel } from "../../onnx/model-io.js";

export function register(program: Command): void {
  program
    .command("inspect")
    .description("list the model's parameterised layers (graph order) with their role and re-init flag")
    .argument("<model>", "ONNX model file")
    .option("--json", "print the inventory as JSON")
    .action((path: string, o: { json?: boolean }) => {
      const inv = layerInventory(loadModel(path));
      process.stdout.write(o.json ? `${JSON.stringify(toJson(inv), null, 2)}\n` : formatTable(path, inv));
    });
}

/** The documented JSON shape: params as names; the per-param detail under paramInfo. */
export function toJson(inv: Inventory) {
  return {
    inputs: inv.inputs,
    outputs: inv.outputs,
    opset: inv.opset,
    layers: inv.layers.map((l) => ({
      name: l.name,
      op: l.op,
      nodes: l.nodes,
      params: l.params.map((p) => p.name),
      numel: l.numel,
      role: l.role,
      reinit: l.reinit,
      paramInfo: l.params.map((p) => ({ name: p.name, kind: p.kind, dims: p.dims, dtype: p.dtype })),
      ...(l.fanIn !== undefined ? { fanIn: l.fanIn, fanOut: l.fanOut } : {}),
      ...(l.kernelShape ? { kernelShape: l.kernelShape, groups: l.groups } : {}),
    })),
  };
}

const dims = (d?: (number | string | null)[]) => (d ? `[${d.map((x) => x ?? "?").join(", ")}]` : "[?]");

function formatTable(path: string, inv: Inventory): string {
  const rows = inv.layers.map((l, i) => [
    String(i),
    l.name,
    l.params.some((p) => p.kind.startsWith("bn-")) && l.op !== "BatchNormalization" ? `${l.op}+BN` : l.op,
    l.role,
    l.reinit ? "yes" : "no",
    dims(l.params[0]?.dims),
    l.numel.toLocaleString("en-US"),
  ]);
  const header = ["#", "layer", "op", "role", "reinit", "weight shape", "params"];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) =>
    r
      .map((x, c) => (c === 0 || c === 6 ? x.padStart(widths[c]!) : x.padEnd(widths[c]!)))
      .join("  ")
      .trimEnd();
  const total = inv.layers.reduce((a, l) => a + l.numel, 0);
  const count = (role: string) => inv.layers.filter((l) => l.role === role).length;
  return [
    `${path}: opset ${inv.opset}`,
    `inputs:  ${inv.inputs.map((v) => `${v.name} ${v.dtype} ${dims(v.dims)}`).join(", ")}`,
    `outputs: ${inv.outputs.map((v) => `${v.name} ${v.dtype} ${dims(v.dims)}`).join(", ")}`,
    "",
    line(header),
    ...rows.map(line),
    "",
    `${inv.layers.length} layers (${count("body")} body, ${count("shortcut")} shortcut, ${count("classifier")} classifier), ` +
      `${inv.layers.filter((l) => l.reinit).length} to re-initialise; ${total.toLocaleString("en-US")} parameters and buffers`,
    "",
  ].join("\n");
}
