/**
 * Binary logistic regression as scikit-learn's `LogisticRegression()` defines it by default: L2 penalty on the
 * weights (not the intercept), C = 1, labels 0/1, predict 1 where the decision value is > 0. It minimises
 *
 *   f(w, b) = C * sum_i log(1 + exp(-s_i (w.x_i + b))) + ||w||^2 / 2,   s_i = 2 y_i - 1
 *
 * by Newton's method with a backtracking line search, to the optimum itself (sklearn's lbfgs stops at a
 * gradient tolerance of 1e-4, so its coefficients agree with these to about that). No npm package fits: the
 * maintained one (ml-logistic-regression) runs fixed-step gradient descent without a penalty.
 */

export interface LogisticRegressionOptions {
  /** Inverse penalty strength (sklearn's C), default 1. */
  C?: number;
  /** Newton iterations at most, default 100. */
  maxIterations?: number;
}

export interface LogisticModel {
  weights: Float64Array;
  intercept: number;
  /** Newton iterations taken. */
  iterations: number;
}

/** Fits on `x` (n rows of `d` features, row after row) and 0/1 labels `y`. */
export function fitLogisticRegression(
  x: ArrayLike<number>,
  d: number,
  y: ArrayLike<number>,
  o: LogisticRegressionOptions = {},
): LogisticModel {
  const n = y.length;
  const C = o.C ?? 1;
  if (!(C > 0)) throw new RangeError(`fitLogisticRegression: C must be > 0, got ${C}`);
  if (x.length !== n * d) throw new RangeError(`fitLogisticRegression: ${x.length} features for ${n} rows of ${d}`);
  for (let i = 0; i < n; i++)
    if (y[i] !== 0 && y[i] !== 1) throw new RangeError(`fitLogisticRegression: label ${y[i]} is not 0 or 1`);
  const p = d + 1; // the intercept is the last parameter
  const theta = new Float64Array(p);
  const objective = (t: Float64Array): number => {
    let f = 0;
    for (let j = 0; j < d; j++) f += (t[j]! * t[j]!) / 2;
    let loss = 0;
    for (let i = 0; i < n; i++) loss += logOnePlusExp(-(2 * y[i]! - 1) * margin(x, d, t, i));
    return f + C * loss;
  };
  let f = objective(theta);
  const maxIterations = o.maxIterations ?? 100;
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    const grad = new Float64Array(p);
    const hess = new Float64Array(p * p);
    for (let j = 0; j < d; j++) {
      grad[j] = theta[j]!;
      hess[j * p + j] = 1;
    }
    for (let i = 0; i < n; i++) {
      const m = margin(x, d, theta, i);
      const s = sigmoid(m);
      const r = C * (s - y[i]!);
      const w = C * s * (1 - s);
      for (let a = 0; a < p; a++) {
        const xa = a < d ? x[i * d + a]! : 1;
        grad[a] += r * xa;
        for (let b = 0; b <= a; b++) hess[a * p + b] += w * xa * (b < d ? x[i * d + b]! : 1);
      }
    }
    for (let a = 0; a < p; a++) for (let b = a + 1; b < p; b++) hess[a * p + b] = hess[b * p + a]!;
    const step = solve(hess, grad, p);
    let decrement = 0;
    for (let a = 0; a < p; a++) decrement += grad[a]! * step[a]!;
    // Newton decrement: f - f* is about decrement / 2 near the optimum
    if (!(decrement > 1e-24 * Math.max(1, Math.abs(f)))) break;
    let t = 1;
    let next = theta.map((v, a) => v - t * step[a]!);
    let fNext = objective(next);
    while (fNext > f - 0.25 * t * decrement && t > 1e-10) {
      t /= 2;
      next = theta.map((v, a) => v - t * step[a]!);
      fNext = objective(next);
    }
    if (!(fNext <= f)) break; // no further progress in float64
    theta.set(next);
    f = fNext;
  }
  return { weights: theta.slice(0, d), intercept: theta[d]!, iterations };
}

/** The decision value w.x + b of each row. */
export function decisionValues(model: LogisticModel, x: ArrayLike<number>): Float64Array {
  const d = model.weights.length;
  const n = x.length / d;
  const t = new Float64Array(d + 1);
  t.set(model.weights);
  t[d] = model.intercept;
  return Float64Array.from({ length: n }, (_, i) => margin(x, d, t, i));
}

/** Fraction of rows whose predicted class (1 where the decision value is > 0, as sklearn) equals `y`. */
export function logisticAccuracy(model: LogisticModel, x: ArrayLike<number>, y: ArrayLike<number>): number {
  const v = decisionValues(model, x);
  let right = 0;
  for (let i = 0; i < v.length; i++) if ((v[i]! > 0 ? 1 : 0) === y[i]) right++;
  return right / v.length;
}

function margin(x: ArrayLike<number>, d: number, t: Float64Array, i: number): number {
  let m = t[d]!;
  for (let j = 0; j < d; j++) m += t[j]! * x[i * d + j]!;
  return m;
}

const sigmoid = (m: number): number => (m >= 0 ? 1 / (1 + Math.exp(-m)) : Math.exp(m) / (1 + Math.exp(m)));

/** log(1 + e^v) without overflow. */
const logOnePlusExp = (v: number): number => (v > 0 ? v + Math.log1p(Math.exp(-v)) : Math.log1p(Math.exp(v)));

/** Solves the symmetric positive definite system A s = g (p x p, row-major) by Gaussian elimination. */
function solve(a: Float64Array, g: Float64Array, p: number): Float64Array {
  const m = Float64Array.from(a);
  const s = Float64Array.from(g);
  for (let k = 0; k < p; k++) {
    let pivot = k;
    for (let r = k + 1; r < p; r++) if (Math.abs(m[r * p + k]!) > Math.abs(m[pivot * p + k]!)) pivot = r;
    if (pivot !== k) {
      for (let c = 0; c < p; c++) [m[k * p + c], m[pivot * p + c]] = [m[pivot * p + c]!, m[k * p + c]!];
      [s[k], s[pivot]] = [s[pivot]!, s[k]!];
    }
    const diag = m[k * p + k]!;
    for (let r = k + 1; r < p; r++) {
      const factor = m[r * p + k]! / diag;
      if (factor === 0) continue;
      for (let c = k; c < p; c++) m[r * p + c] -= factor * m[k * p + c]!;
      s[r] -= factor * s[k]!;
    }
  }
  for (let k = p - 1; k >= 0; k--) {
    let v = s[k]!;
    for (let c = k + 1; c < p; c++) v -= m[k * p + c]! * s[c]!;
    s[k] = v / m[k * p + k]!;
  }
  return s;
}
