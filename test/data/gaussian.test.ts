import { expect } from "chai";
import { GaussianStream } from "../../src/data/gaussian.js";

/** Standard normal CDF (Abramowitz-Stegun 26.2.17, absolute error < 7.5e-8). */
function phi(z: number): number {
  const t = 1 / (1 + 0.2316419 * Math.abs(z));
  const poly = t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  const upper = (Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI)) * poly;
  return z >= 0 ? 1 - upper : upper;
}

describe("data/gaussian: ziggurat normal draws", () => {
  it("gives the same draws for the same name and others for another", () => {
    const a = new Float32Array(1000),
      b = new Float32Array(1000),
      c = new Float32Array(1000);
    new GaussianStream("7/noise/epoch 0/batch 3").addTo(a, 1);
    new GaussianStream("7/noise/epoch 0/batch 3").addTo(b, 1);
    new GaussianStream("7/noise/epoch 0/batch 4").addTo(c, 1);
    expect(Array.from(a)).to.deep.equal(Array.from(b));
    expect(a.filter((v, i) => v === c[i]).length).to.equal(0);
  });

  it("has the standard normal distribution: moments, CDF and tail within 5 standard errors", () => {
    const n = 1_000_000;
    const g = new GaussianStream("distribution");
    const zs = [-3, -2, -1, -0.5, 0, 0.5, 1, 2, 3];
    const below = zs.map(() => 0);
    const R = 3.442619855899; // where the ziggurat's tail routine starts
    let sum = 0,
      sumSq = 0,
      sum4 = 0,
      tail = 0;
    for (let i = 0; i < n; i++) {
      const x = g.normal();
      sum += x;
      sumSq += x * x;
      sum4 += x ** 4;
      if (Math.abs(x) > R) tail++;
      for (let j = 0; j < zs.length; j++) if (x < zs[j]) below[j]++;
    }
    expect(Math.abs(sum / n)).to.be.below(5 / Math.sqrt(n));
    expect(Math.abs(sumSq / n - 1)).to.be.below(5 * Math.sqrt(2 / n));
    expect(Math.abs(sum4 / n - 3)).to.be.below(5 * Math.sqrt(96 / n)); // Var(x^4) = 105 - 9
    zs.forEach((z, j) => {
      const p = phi(z);
      expect(Math.abs(below[j] / n - p), `P(x < ${z})`).to.be.below(5 * Math.sqrt((p * (1 - p)) / n));
    });
    const pTail = 2 * phi(-R);
    expect(Math.abs(tail - n * pTail)).to.be.below(5 * Math.sqrt(n * pTail));
  });
});
