/**
 * Fast seeded standard normal draws for input noise: xoshiro128** (seeded from seedrandom) feeding the Marsaglia &
 * Tsang ziggurat (128 layers). Each draw takes one 32-bit word: the low 7 bits choose the layer and the high 25 bits
 * (signed) give the value, so layer and value use disjoint bits; rare wedge and tail cases take more words.
 * About 2x faster (CPU time) than Box-Muller on seedrandom's Alea uniforms, with the same distribution.
 */
import seedrandom from "seedrandom";

const LAYERS = 128;
const R = 3.442619855899; // start of the tail
const V = 9.91256303526217e-3; // area of each layer
const M = 2 ** 24; // |value| scale: hz in [-2^24, 2^24)
const kn = new Int32Array(LAYERS);
const wn = new Float64Array(LAYERS);
const fn = new Float64Array(LAYERS);
{
  let dn = R,
    tn = R;
  const q = V / Math.exp(-0.5 * dn * dn);
  kn[0] = Math.floor((dn / q) * M);
  kn[1] = 0;
  wn[0] = q / M;
  wn[LAYERS - 1] = dn / M;
  fn[0] = 1;
  fn[LAYERS - 1] = Math.exp(-0.5 * dn * dn);
  for (let i = LAYERS - 2; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(V / dn + Math.exp(-0.5 * dn * dn)));
    kn[i + 1] = Math.floor((dn / tn) * M);
    tn = dn;
    fn[i] = Math.exp(-0.5 * dn * dn);
    wn[i] = dn / M;
  }
}

export class GaussianStream {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  /** A stream seeded from `name` through seedrandom (the same name gives the same draws). */
  constructor(name: string) {
    const seeder = seedrandom.alea(name);
    this.#s0 = seeder.int32();
    this.#s1 = seeder.int32();
    this.#s2 = seeder.int32();
    this.#s3 = seeder.int32();
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1;
  }

  /** xoshiro128**: the next 32-bit word, as a signed int32. */
  #next(): number {
    const s1 = this.#s1;
    const x = Math.imul(s1, 5);
    const result = Math.imul((x << 7) | (x >>> 25), 9);
    const t = s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = (this.#s3 << 11) | (this.#s3 >>> 21);
    return result | 0;
  }

  /** Uniform in (0, 1). */
  #uniform(): number {
    return ((this.#next() >>> 0) + 0.5) * 2.3283064365386963e-10;
  }

  /** One standard normal draw. */
  normal(): number {
    const r = this.#next();
    const iz = r & (LAYERS - 1);
    const hz = r >> 7;
    if ((hz < 0 ? -hz : hz) < kn[iz]) return hz * wn[iz];
    return this.#slow(hz, iz);
  }

  #slow(hz: number, iz: number): number {
    for (;;) {
      if (iz === 0) {
        let x: number, y: number;
        do {
          x = -Math.log(this.#uniform()) / R;
          y = -Math.log(this.#uniform());
        } while (y + y < x * x);
        return hz > 0 ? R + x : -R - x;
      }
      const x = hz * wn[iz];
      if (fn[iz] + this.#uniform() * (fn[iz - 1] - fn[iz]) < Math.exp(-0.5 * x * x)) return x;
      const r = this.#next();
      iz = r & (LAYERS - 1);
      hz = r >> 7;
      if ((hz < 0 ? -hz : hz) < kn[iz]) return hz * wn[iz];
    }
  }

  /** Adds sigma * N(0, 1) to every element of `out`. */
  addTo(out: Float32Array, sigma: number): void {
    for (let i = 0; i < out.length; i++) out[i] += sigma * this.normal();
  }
}
