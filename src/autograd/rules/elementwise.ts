/**
 * Gradient rules of elementwise ops. Binary ops return gradients in the broadcast (output) shape and set
 * `broadcast: true`; the engine reduces them to each input's shape. Y is the forward output, dY = GO(0).
 */
import { attrFloat, attrString, hasAttr } from "../../onnx/attributes.js";
import { onnxFromDtype } from "../../onnx/tensor.js";
import type { GradContext, GradRule } from "../rule.js";
import { rankedScalar } from "../emit.js";

/** The gradient flowing into output 0 (always present when the engine differentiates a one-output node). */
export function dY(c: GradContext): string {
  const g = c.GO(0);
  if (!g) throw new Error(`no gradient flows into output 0 of node '${c.node.name}'`);
  return g;
}

/** `v` cast to the element type of `like` when they differ (Pow takes an exponent of any numeric type). */
const castLike = (c: GradContext, v: string, like: string) =>
  c.dtype(v) === c.dtype(like) ? v : c.op("Cast", [v], { to: onnxFromDtype(c.dtype(like)) });

/**
 * g where the mask holds, else 0: a Mul by the mask cast to g's type, not a Where (onnxruntime's CPU Where
 * took 2-3x a Mul's time on the same activation; with ReLU's gradient on every block's path that was ~10% of
 * a resnet18w8 step: docs/PERFORMANCE.md). Differs from Where only for a NaN/inf in g where the mask is false.
 */
const where = (c: GradContext, mask: string, g: string) => c.op("Mul", [g, castLike(c, mask, g)]);

// dX = dY * (Y > 0)
// (the zero at Y's rank: a rank-0 one is slow against [N, C, 1, 1], see SHORT_SPAN in emit.ts)
export const relu: GradRule = { grad: (c) => [where(c, c.op("Greater", [c.O(0), rankedScalar(c, 0, c.O(0))]), dY(c))] };

// dX = dY * (X > 0 ? 1 : alpha)
export const leakyRelu: GradRule = {
  grad: (c) => {
    const g = dY(c);
    const alpha = attrFloat(c.node, "alpha", 0.01);
    return [c.op("Where", [c.op("Greater", [c.I(0), c.scalar(0, c.I(0))]), g, c.op("Mul", [g, c.scalar(alpha, g)])])];
  },
};

// dX = dY * (min <= X <= max), torch.clamp's convention at the bounds
export const clip: GradRule = {
  nonDifferentiableInputs: [1, 2],
  grad: (c) => {
    const x = c.I(0);
    const bound = (i: number, attr: string) => {
      if (c.opset < 11) return hasAttr(c.node, attr) ? c.scalar(attrFloat(c.node, attr)!, x) : undefined;
      return c.I(i) || undefined;
    };
    const lo = bound(1, "min");
    const hi = bound(2, "max");
    const masks = [lo && c.op("Not", [c.op("Less", [x, lo])]), hi && c.op("Not", [c.op("Greater", [x, hi])])].filter(
      (m): m is string => !!m,
    );
    if (masks.length === 0) return [dY(c)];
    return [where(c, masks.length === 2 ? c.op("And", masks) : masks[0]!, dY(c))];
  },
};

// dX = dY * Y * (1 - Y)
export const sigmoid: GradRule = {
  grad: (c) => [c.op("Mul", [dY(c), c.op("Mul", [c.O(0), c.op("Sub", [c.scalar(1, c.O(0)), c.O(0)])])])],
};

// dX = dY * (1 - Y^2)
export const tanh: GradRule = {
  grad: (c) => [c.op("Mul", [dY(c), c.op("Sub", [c.scalar(1, c.O(0)), c.op("Mul", [c.O(0), c.O(0)])])])],
};

// dA = dY, dB = dY
export const add: GradRule = { broadcast: true, grad: (c) => [dY(c), dY(c)] };

// dA = dY, dB = -dY
export const sub: GradRule = {
  broadcast: true,
  grad: (c) => [dY(c), c.needs(1) ? c.op("Neg", [dY(c)]) : undefined],
};

// dA = dY * B, dB = dY * A
export const mul: GradRule = {
  broadcast: true,
  grad: (c) => [
    c.needs(0) ? c.op("Mul", [dY(c), c.I(1)]) : undefined,
    c.needs(1) ? c.op("Mul", [dY(c), c.I(0)]) : undefined,
  ],
};

// dA = dY / B, dB = -dY * Y / B
export const div: GradRule = {
  broadcast: true,
  grad: (c) => [
    c.needs(0) ? c.op("Div", [dY(c), c.I(1)]) : undefined,
    c.needs(1) ? c.op("Neg", [c.op("Div", [c.op("Mul", [dY(c), c.O(0)]), c.I(1)])]) : undefined,
  ],
};

// dA = dY * B * A^(B-1), dB = dY * Y * log(A) (0 where A == 0, as torch)
export const pow: GradRule = {
  broadcast: true,
  grad: (c) => {
    const [a, y, g] = [c.I(0), c.O(0), dY(c)];
    const b = castLike(c, c.I(1), a);
    const da = c.needs(0)
      ? c.op("Mul", [c.op("Mul", [g, b]), c.op("Pow", [a, c.op("Sub", [b, c.scalar(1, b)])])])
      : undefined;
    if (!c.needs(1)) return [da, undefined];
    const zero = c.scalar(0, a);
    const ylog = c.op("Where", [c.op("Equal", [a, zero]), zero, c.op("Mul", [y, c.op("Log", [a])])]);
    return [da, c.op("Mul", [g, ylog])];
  },
};

// dX = dY / (2 Y)
export const sqrt: GradRule = { grad: (c) => [c.op("Div", [c.op("Mul", [dY(c), c.scalar(0.5, c.O(0))]), c.O(0)])] };

// dX = -dY
export const neg: GradRule = { grad: (c) => [c.op("Neg", [dY(c)])] };

// dX = dY * Y
export const exp: GradRule = { grad: (c) => [c.op("Mul", [dY(c), c.O(0)])] };

// dX = dY / X
export const log: GradRule = { grad: (c) => [c.op("Div", [dY(c), c.I(0)])] };

// dX = -dY * Y^2
export const reciprocal: GradRule = {
  grad: (c) => [c.op("Neg", [c.op("Mul", [dY(c), c.op("Mul", [c.O(0), c.O(0)])])])],
};

// dX = dY * sign(X)
export const abs: GradRule = { grad: (c) => [c.op("Mul", [dY(c), c.op("Sign", [c.I(0)])])] };

// dX = dY * 2/sqrt(pi) * exp(-X^2)
export const erf: GradRule = {
  grad: (c) => {
    const x = c.I(0);
    const e = c.op("Exp", [c.op("Neg", [c.op("Mul", [x, x])])]);
    return [c.op("Mul", [dY(c), c.op("Mul", [e, c.scalar(2 / Math.sqrt(Math.PI), x)])])];
  },
};

// none: dX = dY * (Phi(X) + X phi(X)); tanh: dX = dY * (0.5 (1 + t) + 0.5 X (1 - t^2) k (1 + 3 c X^2)), t = tanh(k (X + c X^3))
export const gelu: GradRule = {
  grad: (c) => {
    const x = c.I(0);
    const s = (v: number) => c.scalar(v, x);
    const mul = (...v: string[]) => v.reduce((p, q) => c.op("Mul", [p, q]));
    const x2 = mul(x, x);
    if (attrString(c.node, "approximate", "none") === "tanh") {
      const k = Math.sqrt(2 / Math.PI);
      const inner = c.op("Add", [s(1), mul(s(0.044715), x2)]);
      const t = c.op("Tanh", [mul(s(k), x, inner)]);
      const left = mul(s(0.5), c.op("Add", [s(1), t]));
      const dt = mul(s(0.5 * k), x, c.op("Sub", [s(1), mul(t, t)]), c.op("Add", [s(1), mul(s(3 * 0.044715), x2)]));
      return [mul(dY(c), c.op("Add", [left, dt]))];
    }
    const cdf = mul(s(0.5), c.op("Add", [s(1), c.op("Erf", [mul(x, s(Math.SQRT1_2))])]));
    const pdf = mul(c.op("Exp", [mul(x2, s(-0.5))]), s(1 / Math.sqrt(2 * Math.PI)));
    return [mul(dY(c), c.op("Add", [cdf, mul(x, pdf)]))];
  },
};

// dX = dY
export const identity: GradRule = { grad: (c) => [dY(c)] };

// dX_i = dY for every input
export const sum: GradRule = { broadcast: true, grad: (c) => Array.from({ length: c.inputCount }, () => dY(c)) };

// dX = cast(dY) back to X's float type (casts to integer types carry no gradient: the engine never asks)
export const cast: GradRule = {
  grad: (c) => [
    c.dtype(c.I(0)) === c.dtype(c.O(0)) ? dY(c) : c.op("Cast", [dY(c)], { to: onnxFromDtype(c.dtype(c.I(0))) }),
  ],
};

// dX = dY * sigmoid(X)
export const softplus: GradRule = { grad: (c) => [c.op("Mul", [dY(c), c.op("Sigmoid", [c.I(0)])])] };

// dX = dY * (X > 0 ? 1 : Y + alpha)
export const elu: GradRule = {
  grad: (c) => {
    const alpha = c.scalar(attrFloat(c.node, "alpha", 1), c.I(0));
    const slope = c.op("Where", [
      c.op("Greater", [c.I(0), c.scalar(0, c.I(0))]),
      c.scalar(1, c.I(0)),
      c.op("Add", [c.O(0), alpha]),
    ]);
    return [c.op("Mul", [dY(c), slope])];
  },
};

// dX = dY * alpha where 0 < alpha X + beta < 1 (torch's hardsigmoid_backward: open interval)
export const hardSigmoid: GradRule = {
  grad: (c) => {
    const x = c.I(0);
    const alpha = attrFloat(c.node, "alpha", 0.2);
    const z = c.op("Add", [c.op("Mul", [x, c.scalar(alpha, x)]), c.scalar(attrFloat(c.node, "beta", 0.5), x)]);
    const inside = c.op("And", [c.op("Greater", [z, c.scalar(0, x)]), c.op("Less", [z, c.scalar(1, x)])]);
    return [where(c, inside, c.op("Mul", [dY(c), c.scalar(alpha, x)]))];
  },
};

// dX = dY * (X < -3 ? 0 : X > 3 ? 1 : (2X + 3) / 6), torch's hardswish_backward
export const hardSwish: GradRule = {
  grad: (c) => {
    const x = c.I(0);
    const s = (v: number) => c.scalar(v, x);
    const mid = c.op("Add", [c.op("Mul", [x, s(1 / 3)]), s(0.5)]);
    const slope = c.op("Where", [
      c.op("Less", [x, s(-3)]),
      s(0),
      c.op("Where", [c.op("Greater", [x, s(3)]), s(1), mid]),
    ]);
    return [c.op("Mul", [dY(c), slope])];
  },
};

// dX_i = dY / n
export const mean: GradRule = {
  broadcast: true,
  grad: (c) => {
    const g = c.op("Mul", [dY(c), c.scalar(1 / c.inputCount, c.O(0))]);
    return Array.from({ length: c.inputCount }, () => g);
  },
};

/** Max/Min: the gradient goes to the input holding the result, split evenly between ties (torch.maximum). */
const select: GradRule = {
  broadcast: true,
  grad: (c) => {
    const y = c.O(0);
    const one = c.scalar(1, y);
    const hits = Array.from({ length: c.inputCount }, (_, i) =>
      c.op("Cast", [c.op("Equal", [c.I(i), y])], { to: onnxFromDtype(c.dtype(y)) }),
    );
    const share = c.op("Div", [dY(c), hits.length === 1 ? one : c.op("Sum", hits)]);
    return hits.map((h, i) => (c.needs(i) ? c.op("Mul", [share, h]) : undefined));
  },
};
// dX_i = dY * [X_i == Y] / #ties
export const max = select;
// dX_i = dY * [X_i == Y] / #ties
export const min = select;

// dX = dY * (X > 0 ? 1 : slope), dSlope = dY * (X > 0 ? 0 : X)
export const pRelu: GradRule = {
  broadcast: true,
  grad: (c) => {
    const [x, slope, g] = [c.I(0), c.I(1), dY(c)];
    const positive = c.op("Greater", [x, c.scalar(0, x)]);
    return [
      c.needs(0) ? c.op("Where", [positive, g, c.op("Mul", [g, slope])]) : undefined,
      c.needs(1) ? where(c, c.op("Not", [positive]), c.op("Mul", [g, x])) : undefined,
    ];
  },
};
