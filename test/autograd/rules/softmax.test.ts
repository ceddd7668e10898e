import { checkGradient, type GradCheckCase } from "../../helpers/gradcheck.js";

type Case = GradCheckCase & { title: string };

const cases: Case[] = [];
for (const op of ["Softmax", "LogSoftmax"]) {
  const c = (title: string, dims: number[], opset: number, axis?: number): Case => ({
    title: `${op} ${title}`,
    op,
    opset,
    attrs: axis === undefined ? {} : { axis },
    inputs: [{ dims, range: [-2, 2] }],
  });
  cases.push(
    c("opset 13, default axis -1", [2, 3, 4], 13),
    c("opset 13, axis 1 (a middle axis alone)", [2, 3, 4], 13, 1),
    c("opset 17, axis 0", [3, 2, 2], 17, 0),
    c("opset 17, axis -2", [2, 3, 4], 17, -2),
    c("opset 11, default axis 1 (coerced to 2-D: axes 1 and 2 together)", [2, 3, 4], 11),
    c("opset 11, axis 2", [2, 3, 4], 11, 2),
    c("opset 11, axis 0 (everything normalised together)", [2, 3, 2], 11, 0),
    c("opset 11, axis -2", [2, 2, 3, 2], 11, -2),
    { ...c("float32 logits", [4, 10], 17), dtype: "float32" },
    { ...c("opset 13, axis 1, runtime shapes", [2, 3, 4], 13, 1), shapes: "runtime" },
  );
}

describe("softmax gradient rules", () => {
  for (const c of cases) it(c.title, () => checkGradient(c));
});
