import { QuantkitError } from '../errors/quantkit-error.js';

const TWO_POW_32 = 0x1_0000_0000;

/** splitmix32 step: a well-mixed 32-bit output for each state; used only to seed xoshiro. */
function splitmix32(state: number): [next: number, output: number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [next, (z ^ (z >>> 16)) >>> 0];
}

function checkSeed(seed: number, what: string): void {
  if (!Number.isSafeInteger(seed)) {
    throw new QuantkitError('QK_USAGE', `${what} must be an integer, got ${seed}`, { hint: 'Pass a whole number.' });
  }
}

/**
 * xoshiro128** (Blackman & Vigna): a small, fast PRNG with 2^128 - 1 period. It uses only 32-bit integer operations,
 * so a seed gives the same stream on every platform. `stream` selects an independent sequence for the same seed
 * (e.g. one per calibration sample), so sample i does not depend on how many samples were drawn before it.
 */
export class Xoshiro128 {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number, stream = 0) {
    checkSeed(seed, 'Random seed');
    checkSeed(stream, 'Random stream');
    // Fold the high and low words of seed and stream into one well-mixed state, then expand it to 128 bits.
    let state = 0;
    for (const word of [
      seed >>> 0,
      Math.floor(seed / TWO_POW_32) | 0,
      stream >>> 0,
      Math.floor(stream / TWO_POW_32) | 0,
    ]) {
      state = splitmix32(state ^ word)[1];
    }
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [next, output] = splitmix32(state);
      state = next;
      words.push(output);
    }
    [this.s0, this.s1, this.s2, this.s3] = words as [number, number, number, number];
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the one state xoshiro cannot leave
  }

  /** A generator in exactly this state (not all zero), as in the reference C code; for checking against it. */
  static fromState(state: readonly [number, number, number, number]): Xoshiro128 {
    if (state.every((word) => word >>> 0 === 0)) throw new RangeError('xoshiro128** state must not be all zero');
    const rng = new Xoshiro128(0);
    [rng.s0, rng.s1, rng.s2, rng.s3] = state.map((word) => word | 0) as [number, number, number, number];
    return rng;
  }

  /** The next uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  nextFloat64(): number {
    const high = this.nextUint32() >>> 5; // 27 bits
    const low = this.nextUint32() >>> 6; // 26 bits
    return (high * 0x400_0000 + low) / 2 ** 53;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Draws standard normal N(0, 1) values. */
export interface NormalSampler {
  /** The next value (double precision). */
  next(): number;
  /** Fills `out` with successive values and returns it. */
  fill<T extends Float32Array | Float64Array>(out: T): T;
}

/**
 * A seeded standard normal sampler: Marsaglia's polar method over {@link Xoshiro128}. The polar method needs only
 * `Math.log` and `Math.sqrt` (no trigonometry); V8 computes `Math.log` with its own fdlibm port, so values are
 * identical on every OS and CPU (a test pins the first values).
 */
export function standardNormal(seed: number, stream = 0): NormalSampler {
  const rng = new Xoshiro128(seed, stream);
  let spare: number | undefined;
  const next = (): number => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    for (;;) {
      const u = 2 * rng.nextFloat64() - 1;
      const v = 2 * rng.nextFloat64() - 1;
      const s = u * u + v * v;
      if (s > 0 && s < 1) {
        const factor = Math.sqrt((-2 * Math.log(s)) / s);
        spare = v * factor;
        return u * factor;
      }
    }
  };
  return {
    next,
    fill(out) {
      for (let i = 0; i < out.length; i++) out[i] = next();
      return out;
    },
  };
}
