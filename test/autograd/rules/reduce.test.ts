import { checkGradient, type GradCheckCase } from "../../helpers/gradcheck.js";

type Case = GradCheckCase & { title: string };
const axes = (values: number[]) => ({ dims: [values.length], dtype: "int64" as const, values });

const reduceSum: Case[] = [
  {
    title: "ReduceSum axes attribute, keepdims 0 (opset 11)",
    op: "ReduceSum",
    opset: 11,
    attrs: { axes: [0, 2], keepdims: 0 },
    inputs: [{ dims: [2, 3, 4] }],
  },
  { title: "ReduceSum all axes (opset 11)", op: "ReduceSum", opset: 11, inputs: [{ dims: [2, 3] }] },
  {
    title: "ReduceSum axes input, keepdims 1 (opset 13)",
    op: "ReduceSum",
    opset: 13,
    inputs: [{ dims: [2, 3, 4] }, axes([1])],
  },
  {
    title: "ReduceSum negative axes, keepdims 0 (opset 13)",
    op: "ReduceSum",
    opset: 13,
    attrs: { keepdims: 0 },
    inputs: [{ dims: [2, 3, 4] }, axes([-1, 0])],
  },
  {
    title: "ReduceSum no axes = all (opset 13)",
    op: "ReduceSum",
    opset: 13,
    attrs: { keepdims: 0 },
    inputs: [{ dims: [2, 3] }],
  },
  {
    title: "ReduceSum noop_with_empty_axes (opset 13)",
    op: "ReduceSum",
    opset: 13,
    attrs: { noop_with_empty_axes: 1 },
    inputs: [{ dims: [2, 3] }],
  },
];

const reduceMean: Case[] = [
  {
    title: "ReduceMean axes attribute (opset 17)",
    op: "ReduceMean",
    opset: 17,
    attrs: { axes: [2, 3] },
    inputs: [{ dims: [2, 3, 2, 2] }],
  },
  {
    title: "ReduceMean axes attribute, keepdims 0 (opset 11)",
    op: "ReduceMean",
    opset: 11,
    attrs: { axes: [-1], keepdims: 0 },
    inputs: [{ dims: [2, 3, 4] }],
  },
  {
    title: "ReduceMean axes input, keepdims 0 (opset 18)",
    op: "ReduceMean",
    opset: 18,
    attrs: { keepdims: 0 },
    inputs: [{ dims: [2, 3, 4] }, axes([1])],
  },
  { title: "ReduceMean all axes (opset 18)", op: "ReduceMean", opset: 18, inputs: [{ dims: [3, 4] }] },
  {
    title: "ReduceMean noop_with_empty_axes (opset 18)",
    op: "ReduceMean",
    opset: 18,
    attrs: { noop_with_empty_axes: 1 },
    inputs: [{ dims: [3, 4] }],
  },
];

const runtime: Case[] = [reduceSum[3]!, reduceMean[0]!, reduceMean[2]!].map((c) => ({
  ...c,
  title: `${c.title}, runtime shapes`,
  shapes: "runtime",
}));

describe("reduction gradient rules", () => {
  for (const c of [...reduceSum, ...reduceMean, ...runtime]) it(c.title, () => checkGradient(c));
});
