import { checkGradient, type GradCheckCase } from "../../helpers/gradcheck.js";

type Case = GradCheckCase & { title: string };
const i64 = (values: number[]) => ({ dims: [values.length], dtype: "int64" as const, values });

const reshapes: Case[] = [
  { title: "Reshape with 0 and -1", op: "Reshape", inputs: [{ dims: [2, 3, 4] }, i64([0, -1])] },
  { title: "Flatten axis 2", op: "Flatten", attrs: { axis: 2 }, inputs: [{ dims: [2, 3, 2, 2] }] },
  { title: "Transpose perm", op: "Transpose", attrs: { perm: [2, 0, 1] }, inputs: [{ dims: [2, 3, 4] }] },
  { title: "Transpose default (reverse)", op: "Transpose", inputs: [{ dims: [2, 3, 4] }] },
  {
    title: "Squeeze axes attribute (opset 11)",
    op: "Squeeze",
    opset: 11,
    attrs: { axes: [1] },
    inputs: [{ dims: [2, 1, 3] }],
  },
  { title: "Squeeze axes input (opset 13)", op: "Squeeze", opset: 13, inputs: [{ dims: [2, 1, 3, 1] }, i64([-1, 1])] },
  {
    title: "Unsqueeze axes attribute (opset 11)",
    op: "Unsqueeze",
    opset: 11,
    attrs: { axes: [0, 3] },
    inputs: [{ dims: [2, 3] }],
  },
  { title: "Unsqueeze axes input (opset 13)", op: "Unsqueeze", opset: 13, inputs: [{ dims: [2, 3] }, i64([-1])] },
  { title: "Expand", op: "Expand", inputs: [{ dims: [3, 1] }, i64([2, 3, 4])] },
  { title: "Expand to a smaller-rank shape", op: "Expand", inputs: [{ dims: [2, 1, 4] }, i64([3, 1])] },
];

const joins: Case[] = [
  {
    title: "Concat axis 1, three inputs",
    op: "Concat",
    attrs: { axis: 1 },
    inputs: [{ dims: [2, 1] }, { dims: [2, 3] }, { dims: [2, 2] }],
  },
  {
    title: "Concat negative axis, one constant input",
    op: "Concat",
    attrs: { axis: -1 },
    inputs: [{ dims: [2, 2] }, { dims: [2, 3], constant: true }],
  },
  {
    title: "Split attribute (opset 11)",
    op: "Split",
    opset: 11,
    outputs: 2,
    attrs: { axis: 1, split: [1, 3] },
    inputs: [{ dims: [2, 4] }],
  },
  {
    title: "Split input (opset 13)",
    op: "Split",
    opset: 13,
    outputs: 3,
    attrs: { axis: 0 },
    inputs: [{ dims: [6, 2] }, i64([1, 2, 3])],
  },
  {
    title: "Split num_outputs (opset 18)",
    op: "Split",
    opset: 18,
    outputs: 3,
    attrs: { axis: -1, num_outputs: 3 },
    inputs: [{ dims: [2, 7] }],
  },
  {
    title: "Split, one output unused",
    op: "Split",
    opset: 13,
    outputs: 3,
    lossOutputs: [0, 2],
    attrs: { axis: 1 },
    inputs: [{ dims: [2, 6] }],
  },
];

const slices: Case[] = [
  { title: "Slice starts/ends", op: "Slice", inputs: [{ dims: [4, 5] }, i64([1, 0]), i64([3, 4])] },
  {
    title: "Slice negative and clamped, axes",
    op: "Slice",
    inputs: [{ dims: [4, 5] }, i64([-3]), i64([1000]), i64([1])],
  },
  {
    title: "Slice step 2",
    op: "Slice",
    inputs: [{ dims: [4, 6] }, i64([0, 1]), i64([4, 6]), i64([0, 1]), i64([2, 2])],
  },
  {
    title: "Slice negative step",
    op: "Slice",
    inputs: [{ dims: [3, 5] }, i64([-1]), i64([-1000]), i64([1]), i64([-2])],
  },
  {
    title: "Slice attributes (opset 9)",
    op: "Slice",
    opset: 9,
    attrs: { starts: [1], ends: [-1], axes: [1] },
    inputs: [{ dims: [3, 5] }],
  },
];

const gathers: Case[] = [
  {
    title: "Gather axis 0, repeated 2-D indices",
    op: "Gather",
    inputs: [{ dims: [5, 3] }, { dims: [2, 3], dtype: "int64", values: [0, 4, 0, 2, 2, 1] }],
  },
  {
    title: "Gather axis 1, negative indices",
    op: "Gather",
    attrs: { axis: 1 },
    inputs: [{ dims: [2, 4, 3] }, i64([-1, 0, -1])],
  },
  {
    title: "Gather scalar index (class token)",
    op: "Gather",
    attrs: { axis: 1 },
    inputs: [{ dims: [2, 3, 4] }, { dims: [], dtype: "int64", values: [0] }],
  },
  {
    title: "Gather int32 indices, axis -1",
    op: "Gather",
    attrs: { axis: -1 },
    inputs: [{ dims: [2, 4] }, { dims: [3], dtype: "int32", values: [3, 1, 3] }],
  },
];

const pads: Case[] = [
  {
    title: "Pad constant, pads input (opset 13)",
    op: "Pad",
    opset: 13,
    inputs: [{ dims: [2, 3, 4] }, i64([0, 1, 2, 0, 2, 1])],
  },
  {
    title: "Pad with negative pads (crop) and a value",
    op: "Pad",
    opset: 13,
    inputs: [{ dims: [3, 5] }, i64([-1, 2, 1, -2]), { dims: [], values: [0.5], constant: true }],
  },
  {
    title: "Pad attributes (opset 10)",
    op: "Pad",
    opset: 10,
    attrs: { pads: [1, 0, 0, 2] },
    inputs: [{ dims: [3, 4] }],
  },
  {
    title: "Pad axes input (opset 18)",
    op: "Pad",
    opset: 18,
    inputs: [{ dims: [2, 3, 4] }, i64([1, 2]), { dims: [], omit: true }, i64([-1])],
  },
];

const where: Case[] = [
  {
    title: "Where with broadcasting",
    op: "Where",
    inputs: [{ dims: [3, 1], dtype: "bool", values: [1, 0, 1] }, { dims: [3, 4] }, { dims: [4] }],
  },
];

const runtime: Case[] = [
  reshapes[0]!,
  reshapes[5]!,
  reshapes[7]!,
  reshapes[8]!,
  joins[0]!,
  joins[5]!,
  slices[1]!,
  slices[2]!,
  gathers[1]!,
  where[0]!,
].map((c) => ({ ...c, title: `${c.title}, runtime shapes`, shapes: "runtime" }));

const symbolic: Case[] = [
  reshapes[1]!,
  reshapes[2]!,
  reshapes[8]!,
  joins[0]!,
  joins[4]!,
  slices[0]!,
  slices[2]!,
  gathers[1]!,
  gathers[2]!,
  pads[0]!,
].map((c) => ({ ...c, title: `${c.title}, symbolic batch dim`, shapes: "symbolic" }));

describe("shape gradient rules", () => {
  for (const c of [...reshapes, ...joins, ...slices, ...gathers, ...pads, ...where, ...runtime, ...symbolic])
    it(c.title, () => checkGradient(c));
});
