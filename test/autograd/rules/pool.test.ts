import { expect } from "chai";
import seedrandom from "seedrandom";
import { checkGradient, type GradCheckCase } from "../../helpers/gradcheck.js";

type Case = GradCheckCase & { title: string };

// Pools run in float32 only in ORT; the helper's float32 tolerance applies.
const pool = (
  op: string,
  title: string,
  x: number[],
  attrs: GradCheckCase["attrs"],
  extra: Partial<GradCheckCase> = {},
): Case => ({
  title,
  op,
  dtype: "float32",
  attrs,
  inputs: [{ dims: x, values: op === "MaxPool" ? separated(x, title) : undefined }],
  ...extra,
});

/** A seeded shuffle of values 0.05 apart: the central difference (steps of at most 4e-3) never changes
 *  which element of a window is the maximum, so the max is differentiable where it is checked. */
function separated(dims: number[], seed: string): number[] {
  const n = dims.reduce((a, b) => a * b, 1);
  const rng = seedrandom(seed);
  const values = Array.from({ length: n }, (_, i) => -1 + 0.05 * i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  return values;
}

const maxPools: Case[] = [
  pool("MaxPool", "2x2 stride 2", [2, 2, 4, 4], { kernel_shape: [2, 2], strides: [2, 2] }),
  pool("MaxPool", "3x3 stride 2 pad 1, overlapping (ResNet stem)", [2, 2, 7, 8], {
    kernel_shape: [3, 3],
    strides: [2, 2],
    pads: [1, 1, 1, 1],
  }),
  pool("MaxPool", "stride 1 overlapping, no pads", [1, 2, 5, 5], { kernel_shape: [3, 2] }),
  pool("MaxPool", "ceil_mode", [1, 1, 6, 6], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }),
  pool("MaxPool", "ceil_mode with pads, odd sizes", [1, 2, 6, 5], {
    kernel_shape: [3, 3],
    strides: [2, 2],
    pads: [1, 1, 1, 1],
    ceil_mode: 1,
  }),
  pool("MaxPool", "asymmetric pads, stride 3 drops rows", [1, 1, 8, 7], {
    kernel_shape: [2, 3],
    strides: [3, 2],
    pads: [1, 0, 0, 1],
  }),
  pool("MaxPool", "dilations 2", [1, 1, 6, 7], { kernel_shape: [2, 2], dilations: [2, 2], pads: [1, 1, 0, 0] }),
  pool("MaxPool", "auto_pad SAME_UPPER", [1, 1, 5, 6], {
    kernel_shape: [3, 3],
    strides: [2, 2],
    auto_pad: "SAME_UPPER",
  }),
  pool("MaxPool", "auto_pad SAME_LOWER", [1, 1, 5, 6], {
    kernel_shape: [2, 2],
    strides: [2, 2],
    auto_pad: "SAME_LOWER",
  }),
  pool(
    "MaxPool",
    "Indices output present",
    [2, 1, 5, 5],
    { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] },
    { outputs: 2 },
  ),
  pool(
    "MaxPool",
    "Indices output in column-major order (recomputed)",
    [1, 2, 4, 5],
    { kernel_shape: [2, 2], strides: [1, 2], storage_order: 1 },
    { outputs: 2 },
  ),
  pool("MaxPool", "1-D", [2, 3, 9], { kernel_shape: [3], strides: [2], pads: [1, 1] }),
  pool(
    "MaxPool",
    "opset 11, non-overlapping windows",
    [1, 2, 4, 6],
    { kernel_shape: [2, 3], strides: [2, 3] },
    { opset: 11 },
  ),
];

const averagePools: Case[] = [
  pool("AveragePool", "2x2 stride 2", [2, 2, 4, 4], { kernel_shape: [2, 2], strides: [2, 2] }),
  pool("AveragePool", "stride 2 drops a row and a column", [1, 1, 7, 7], { kernel_shape: [2, 2], strides: [2, 2] }),
  pool("AveragePool", "pads, count_include_pad 0", [1, 2, 5, 5], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
  pool("AveragePool", "pads, count_include_pad 1", [1, 2, 5, 5], {
    kernel_shape: [3, 3],
    pads: [1, 1, 1, 1],
    count_include_pad: 1,
  }),
  pool("AveragePool", "ceil_mode, pads, count_include_pad 0", [1, 2, 6, 6], {
    kernel_shape: [3, 3],
    strides: [2, 2],
    pads: [1, 1, 1, 1],
    ceil_mode: 1,
  }),
  pool("AveragePool", "ceil_mode, pads, count_include_pad 1", [1, 2, 6, 6], {
    kernel_shape: [3, 3],
    strides: [2, 2],
    pads: [1, 1, 1, 1],
    ceil_mode: 1,
    count_include_pad: 1,
  }),
  pool("AveragePool", "ceil_mode, no pads, count_include_pad 1", [1, 1, 6, 7], {
    kernel_shape: [3, 2],
    strides: [2, 2],
    ceil_mode: 1,
    count_include_pad: 1,
  }),
  pool("AveragePool", "asymmetric pads, odd sizes", [1, 1, 7, 6], {
    kernel_shape: [2, 3],
    strides: [2, 3],
    pads: [0, 1, 1, 0],
  }),
  pool("AveragePool", "auto_pad SAME_UPPER", [1, 1, 5, 6], {
    kernel_shape: [3, 3],
    strides: [2, 2],
    auto_pad: "SAME_UPPER",
  }),
  pool("AveragePool", "auto_pad VALID", [1, 1, 5, 6], { kernel_shape: [2, 2], strides: [2, 2], auto_pad: "VALID" }),
  pool(
    "AveragePool",
    "dilations (opset 19)",
    [1, 1, 7, 7],
    { kernel_shape: [2, 2], dilations: [2, 2], pads: [1, 1, 1, 1] },
    { opset: 19 },
  ),
  pool("AveragePool", "1-D", [2, 2, 9], { kernel_shape: [3], strides: [2], pads: [1, 1] }),
];

const globals: Case[] = [
  pool("GlobalAveragePool", "NCHW", [2, 3, 4, 5], {}),
  pool("GlobalAveragePool", "NCL", [2, 3, 7], {}),
];

// MaxPool and GlobalAveragePool need no static shapes (AveragePool does: its ConvTranspose takes sizes).
const runtimeShapes: Case[] = [maxPools[1]!, maxPools[4]!, maxPools[7]!, globals[0]!].map((c) => ({
  ...c,
  title: `${c.op} ${c.title}, runtime shapes`,
  shapes: "runtime",
}));

// Before opset 16 (no ScatterElements reduction='add') overlapping windows take the one-hot ConvTranspose path.
const maxPoolsOpset13: Case[] = maxPools
  .filter((c) => c.opset === undefined)
  .map((c) => ({ ...c, title: `${c.title}, opset 13`, opset: 13 }));

describe("pooling gradient rules", () => {
  describe("MaxPool", () => maxPools.forEach((c) => it(c.title, () => checkGradient(c))));
  describe("MaxPool before opset 16", () => maxPoolsOpset13.forEach((c) => it(c.title, () => checkGradient(c))));
  describe("AveragePool", () => averagePools.forEach((c) => it(c.title, () => checkGradient(c))));
  describe("GlobalAveragePool", () => globals.forEach((c) => it(c.title, () => checkGradient(c))));
  describe("without static shapes", () => runtimeShapes.forEach((c) => it(c.title, () => checkGradient(c))));

  describe("bad call", () => {
    it("AveragePool without static shapes names the node", async () => {
      const err = await checkGradient({ ...averagePools[2]!, shapes: "runtime" }).catch((e: Error) => e);
      expect((err as Error).name).to.equal("UserError");
      expect((err as Error).message).to.match(/node 'averagepool' \(AveragePool, opset 17\).*static dims 2\.\./);
    });

    it("refuses overlapping MaxPool windows before opset 10 (no Mod)", async () => {
      const err = await checkGradient({ ...maxPools[1]!, opset: 9 }).catch((e: Error) => e);
      expect(err).to.be.instanceOf(Error);
      expect((err as Error).name).to.equal("UserError");
      expect((err as Error).message).to.match(/node 'maxpool' \(MaxPool, opset 9\).*opset >= 10/);
    });
  });
});
