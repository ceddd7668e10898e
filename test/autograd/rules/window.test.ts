import { expect } from "chai";
import { tapMatrix } from "../../../src/autograd/rules/window.js";

const window = (
  input: number[],
  kernel: number[],
  strides: number[],
  pads: number[],
  output: number[],
  dilations = [1, 1],
) => ({ input, kernel, strides, padsBegin: pads, padsEnd: pads, dilations, output });

/** The taps (row-major) with a 1 for input pixel q and output pixel p, per (q, p). */
function readers(m: Float32Array, taps: number, q: number, p: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < q; i++)
    for (let o = 0; o < p; o++) out.push([...Array(taps).keys()].filter((t) => m[(o * taps + t) * q + i] === 1));
  return out;
}

describe("sliding-window geometry (autograd/rules/window)", () => {
  it("tapMatrix: 3x3 pad 1 on a 1x1 map reads only the centre tap", () => {
    const m = tapMatrix(window([1, 1], [3, 3], [1, 1], [1, 1], [1, 1]));
    expect(Array.from(m)).to.deep.equal([0, 0, 0, 0, 1, 0, 0, 0, 0]);
  });

  it("tapMatrix: 3x3 stride 2 pad 1 from 2x2 to 1x1 reads taps (1,1) (1,2) (2,1) (2,2); stride 1 on 2x2 pairs every pixel", () => {
    expect(readers(tapMatrix(window([2, 2], [3, 3], [2, 2], [1, 1], [1, 1])), 9, 4, 1)).to.deep.equal([
      [4],
      [5],
      [7],
      [8],
    ]);
    // stride 1: input pixel q feeds output pixel p through tap (qy - py + 1, qx - px + 1)
    const r = readers(tapMatrix(window([2, 2], [3, 3], [1, 1], [1, 1], [2, 2])), 9, 4, 4);
    expect(r[0]).to.deep.equal([4]); // q (0,0) -> p (0,0): centre
    expect(r[1]).to.deep.equal([3]); // q (0,0) -> p (0,1): tap (1,0)
    expect(r[3 * 4 + 0]).to.deep.equal([8]); // q (1,1) -> p (0,0): tap (2,2)
    expect(r.every((t) => t.length === 1)).to.equal(true);
  });
});
