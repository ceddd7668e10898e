/**
 * The two threshold grids of the organisers' metric.py, value for value:
 * - the window attack's edges come from `np.linspace` in float64: `start + i * step` (two roundings), last = stop;
 * - the single-threshold attack's thresholds come from `torch.linspace(min, max, n)` on 0-d float64 tensors,
 *   which builds a **float32** tensor on the CPU (the default dtype and device), so the thresholds are float32
 *   values whose exact rounding depends on torch's CPU kernel (see `TorchGrid`).
 */

/**
 * How torch's CPU `linspace` rounds, for float32 with `step = fl32(fl32(end - start) / (n - 1))`:
 * - `"torch2"` (PyTorch >= 2.0, scalar kernel; the build's AVX2/AVX512 flags let the compiler fuse the
 *   multiply-add): `fma(step, i, start)` below n/2, `fma(-step, n-1-i, end)` from n/2 on. Inferred from the
 *   source (pytorch PR #89048) and the build flags; not checked against a real PyTorch 2 here.
 * - `"torch1.13-avx2"` (PyTorch 1.13 with AVX2 dispatch, Debian's build): the vectorised kernel, 8-lane vectors
 *   taken two at a time, each lane `fl32(base + fl32(k * step))` from a fused base; the tail scalar and fused.
 *   Checked value for value against Debian's torch 1.13 (test/fixtures/score/reference.json).
 */
export type TorchGrid = "torch2" | "torch1.13-avx2";

/** `np.linspace(start, stop, num)` in float64, exactly as numpy computes it. */
export function numpyLinspace(start: number, stop: number, num: number): Float64Array {
  const y = new Float64Array(Math.max(0, num));
  const div = num - 1;
  const delta = stop - start;
  if (div > 0) {
    const step = delta / div;
    if (step === 0) for (let i = 0; i < num; i++) y[i] = (i / div) * delta + start;
    else for (let i = 0; i < num; i++) y[i] = i * step + start;
    y[num - 1] = stop;
  } else if (num === 1) y[0] = 0 * delta + start;
  return y;
}

/** `torch.linspace(start, end, steps)` with the default dtype float32 on the CPU, as `grid` rounds it. */
export function torchLinspaceF32(start: number, end: number, steps: number, grid: TorchGrid = "torch2"): Float64Array {
  const y = new Float64Array(Math.max(0, steps));
  if (steps === 1) y[0] = Math.fround(start);
  if (steps <= 1) return y;
  const s = Math.fround(start);
  const e = Math.fround(end);
  const step = Math.fround(Math.fround(e - s) / (steps - 1));
  const half = Math.floor(steps / 2);
  // step * k is exact in float64 (24-bit step, integer k < 2^24): fusedF32 rounds start +- it once.
  const scalar = (i: number) => (i < half ? fusedF32(s, step * i) : fusedF32(e, -(step * (steps - 1 - i))));
  let i = 0;
  if (grid === "torch1.13-avx2") {
    const lanes = 8;
    // cpu_serial_kernel_vec: two vectors per round while 16 values remain, then the scalar loop.
    for (; i + 2 * lanes <= steps; i += 2 * lanes) {
      for (let at = i; at < i + 2 * lanes; at += lanes) {
        const base = scalar(at);
        y[at] = base;
        for (let k = 1; k < lanes; k++) y[at + k] = Math.fround(base + Math.fround(k * step));
      }
    }
  }
  for (; i < steps; i++) y[i] = scalar(i);
  return y;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float32 next to `r` (a float32, finite) in the direction of `toward`. */
function nextF32(r: number, toward: number): number {
  if (r === 0) return toward > 0 ? 1.401298464324817e-45 : -1.401298464324817e-45;
  f32[0] = r;
  // For either sign, moving away from zero adds one to the bit pattern.
  u32[0] += toward > r === r > 0 ? 1 : -1;
  return f32[0]!;
}

/**
 * The float32 nearest to the exact sum a + b of two float64 values (ties to even): what a fused multiply-add
 * gives when b is an exact product. Rounding a + b to float64 first can land exactly on a float32 midpoint
 * the exact sum is not on; the TwoSum error term decides those.
 */
export function fusedF32(a: number, b: number): number {
  const s = a + b;
  const r = Math.fround(s);
  if (r === s) return r;
  const bb = s - a;
  const err = a - (s - bb) + (b - bb);
  if (err === 0) return r;
  const other = nextF32(r, s);
  if ((r + other) / 2 !== s) return r;
  // s is the midpoint: the exact sum lies on err's side of it.
  return err > 0 === other > r ? other : r;
}
