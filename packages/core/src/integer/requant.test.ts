import { describe, expect, it } from 'vitest';
import { Xoshiro128 } from '../data/random.js';
import { MAX_SHIFT } from './integer-ops.js';
import {
  checkEncoding,
  decodeMultiplier,
  encodeMultiplier,
  encodeMultipliers,
  encodeScaleShift,
  outputBounds,
  rescale,
  rescaleTensor,
  roundedProduct,
  SCALE_SHIFT_MAX_SHIFT,
  scaleShiftValue,
} from './requant.js';
import { codeOf } from '../testing/error-of.js';

/** floor((acc · m + 2^(s−1)) / 2^s) in BigInt: the spec, independent of the float64 reasoning. */
function reference(acc: number, m: number, s: number): number {
  const numerator = BigInt(acc) * BigInt(m) + (1n << BigInt(s - 1));
  const divisor = 1n << BigInt(s);
  const q = numerator / divisor;
  // BigInt division truncates toward zero; step down for a negative inexact quotient.
  return Number(numerator < 0n && q * divisor !== numerator ? q - 1n : q);
}

describe('encodeMultiplier', () => {
  // Exhaustive sweeps: ~1.3 s alone, several times that on a busy 2-core machine.
  it('keeps the multiplier in [2^21, 2^22) with relative error <= 2^-22 over M in [2^-32, 2^21)', { timeout: 60_000 }, () => {
    const rng = new Xoshiro128(7);
    for (let i = 0; i < 20000; i++) {
      const m = 2 ** (-32 + 53 * rng.nextFloat64());
      const { multiplier, shift } = encodeMultiplier(m);
      if (multiplier === 2 ** 22 - 1 && shift === 1) continue; // M rounded up to 2^21: the saturating encoding
      expect(multiplier).toBeGreaterThanOrEqual(2 ** 21);
      expect(multiplier).toBeLessThan(2 ** 22);
      expect(Number.isInteger(multiplier) && Number.isInteger(shift)).toBe(true);
      expect(shift).toBeGreaterThanOrEqual(1);
      expect(shift).toBeLessThanOrEqual(MAX_SHIFT);
      expect(Math.abs(decodeMultiplier(multiplier, shift) - m) / m).toBeLessThanOrEqual(2 ** -22);
    }
  });

  it('encodes exact binary fractions exactly', () => {
    expect(encodeMultiplier(1)).toEqual({ multiplier: 2 ** 21, shift: 21 });
    expect(encodeMultiplier(0.75)).toEqual({ multiplier: 3 * 2 ** 20, shift: 22 });
    expect(encodeMultiplier(2 ** -32)).toEqual({ multiplier: 2 ** 21, shift: 53 });
    expect(encodeMultiplier(2 ** 20)).toEqual({ multiplier: 2 ** 21, shift: 1 });
    // A float32 scale ratio (24-bit mantissa) rounds to 22 bits.
    const m = Math.fround(0.0123) / Math.fround(0.456);
    const { multiplier, shift } = encodeMultiplier(m);
    expect(multiplier).toBe(Math.round(m * 2 ** shift));
  });

  it('rounds M · 2^shift half to even', () => {
    // M · 2^21 = 2^21 + 0.5 → 2^21 (even); 2^21 + 1.5 → 2^21 + 2.
    expect(encodeMultiplier(1 + 2 ** -22)).toEqual({ multiplier: 2 ** 21, shift: 21 });
    expect(encodeMultiplier(1 + 3 * 2 ** -22)).toEqual({ multiplier: 2 ** 21 + 2, shift: 21 });
    expect(encodeMultiplier(1 + 5 * 2 ** -22)).toEqual({ multiplier: 2 ** 21 + 2, shift: 21 });
    // Rounding up to 2^22 renormalises to 2^21 with one less shift.
    expect(encodeMultiplier(2 - 2 ** -30)).toEqual({ multiplier: 2 ** 21, shift: 20 });
  });

  it('encodes 0 and M < 2^-32 as multiplier 0, which rescales every int32 to 0 as M itself does', () => {
    expect(encodeMultiplier(0)).toEqual({ multiplier: 0, shift: 1 });
    const tiny = 2 ** -32 * (1 - 2 ** -20);
    expect(encodeMultiplier(tiny)).toEqual({ multiplier: 0, shift: 1 });
    for (const acc of [-(2 ** 31), -(2 ** 31) + 1, -1, 0, 1, 2 ** 31 - 1]) {
      expect(Math.floor(acc * tiny + 0.5)).toBe(0);
      expect(rescale(acc, 0, 1, 'int8')).toBe(0);
    }
  });

  it('encodes M >= 2^21 as (2^22 - 1, 1): every nonzero int32 saturates either way', () => {
    for (const m of [2 ** 21, 2 ** 21 - 2 ** -30, 1e12]) {
      expect(encodeMultiplier(m)).toEqual({ multiplier: 2 ** 22 - 1, shift: 1 });
    }
    expect(rescale(1, 2 ** 22 - 1, 1, 'int16')).toBe(32767);
    expect(rescale(-1, 2 ** 22 - 1, 1, 'int16')).toBe(-32768);
    expect(rescale(0, 2 ** 22 - 1, 1, 'int16')).toBe(0);
  });

  it('refuses negative, NaN and infinite multipliers, naming the subject', () => {
    for (const m of [-1, Number.NaN, Infinity]) expect(codeOf(() => encodeMultiplier(m, 'node x'))).toBe('QK_RESCALE');
    expect(() => encodeMultiplier(-0.5, "node 'conv1'")).toThrow(/conv1/);
    expect(encodeMultipliers([0.5, 0.25])).toEqual({ multiplier: [2 ** 21, 2 ** 21], shift: [22, 23] });
    expect(() => encodeMultipliers([0.5, -1], 'w')).toThrow(/channel 1/);
  });
});

describe('rescale', () => {
  it('rounds acc · M half toward +infinity', () => {
    const half = encodeMultiplier(0.5);
    const quarter = encodeMultiplier(0.25);
    const cases: [number, typeof half, number][] = [
      [5, half, 3], // 2.5
      [-5, half, -2], // -2.5
      [-3, half, -1], // -1.5
      [3, half, 2], // 1.5
      [-6, half, -3],
      [7, quarter, 2], // 1.75
      [-7, quarter, -2], // -1.75
      [-6, quarter, -1], // -1.5
      [-5, quarter, -1], // -1.25
      [-1, half, 0], // -0.5
      [1, half, 1], // 0.5
    ];
    for (const [acc, { multiplier, shift }, expected] of cases) {
      expect(rescale(acc, multiplier, shift, 'int8')).toBe(expected);
    }
  });

  it('matches the BigInt definition for random accumulators, multipliers and shifts (1..53)', { timeout: 60_000 }, () => {
    const rng = new Xoshiro128(11);
    for (let i = 0; i < 50000; i++) {
      const shift = 1 + (rng.nextUint32() % MAX_SHIFT);
      const multiplier = 2 ** 21 + (rng.nextUint32() % 2 ** 21);
      const acc = i % 5 === 0 ? (rng.nextUint32() % 2 === 0 ? 2 ** 31 : -(2 ** 31)) : (rng.nextUint32() | 0);
      expect(roundedProduct(acc, multiplier, shift)).toBe(reference(acc, multiplier, shift));
    }
  });

  it('is exact at .5 boundaries for every shift, where acc · m + 2^(shift-1) needs more than 53 bits', () => {
    for (let shift = 1; shift <= MAX_SHIFT; shift++) {
      const multiplier = 2 ** 22 - 1;
      // acc · m as close to an odd multiple of 2^(shift-1) as int32 accumulators allow, on both sides.
      for (const acc of [2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) + 1, 12345, -12345]) {
        expect(roundedProduct(acc, multiplier, shift)).toBe(reference(acc, multiplier, shift));
      }
    }
    // A true tie with a large shift: acc · m = (2k + 1) · 2^(shift-1).
    const shift = 40;
    const multiplier = 2 ** 21;
    const acc = 3 * 2 ** 18; // acc · m = 3 · 2^39 = 1.5 · 2^40
    expect(roundedProduct(acc, multiplier, shift)).toBe(2);
    expect(roundedProduct(-acc, multiplier, shift)).toBe(-1);
  });

  it('saturates to the output dtype and applies relu and clip after rounding', () => {
    const one = encodeMultiplier(1);
    expect(rescale(1000, one.multiplier, one.shift, 'int8')).toBe(127);
    expect(rescale(-1000, one.multiplier, one.shift, 'int8')).toBe(-128);
    expect(rescale(2 ** 31, one.multiplier, one.shift, 'int16')).toBe(32767);
    expect(rescale(-(2 ** 31), one.multiplier, one.shift, 'int16')).toBe(-32768);
    expect(rescale(-5, one.multiplier, one.shift, 'int8', true)).toBe(0);
    expect(rescale(5, one.multiplier, one.shift, 'int8', true, { max: 3 })).toBe(3);
    expect(rescale(-5, one.multiplier, one.shift, 'int16', false, { min: -2, max: 3 })).toBe(-2);
  });

  it('refuses bad encodings, out-of-range accumulators and empty bounds', () => {
    expect(codeOf(() => checkEncoding(2 ** 22, 10))).toBe('QK_RESCALE');
    expect(codeOf(() => checkEncoding(2 ** 20, 10))).toBe('QK_RESCALE');
    expect(codeOf(() => checkEncoding(2 ** 21, 0))).toBe('QK_RESCALE');
    expect(codeOf(() => checkEncoding(2 ** 21, MAX_SHIFT + 1))).toBe('QK_RESCALE');
    expect(codeOf(() => checkEncoding(2 ** 21 + 0.5, 10))).toBe('QK_RESCALE');
    expect(codeOf(() => rescale(2 ** 31 + 1, 2 ** 21, 21, 'int8'))).toBe('QK_RESCALE');
    expect(codeOf(() => rescale(1.5, 2 ** 21, 21, 'int8'))).toBe('QK_RESCALE');
    expect(codeOf(() => outputBounds('int8', true, { max: -1 }))).toBe('QK_RESCALE');
    expect(codeOf(() => outputBounds('int8', false, { min: 5, max: 4 }))).toBe('QK_RESCALE');
    expect(outputBounds('int16', true, { max: 100 })).toEqual({ lo: 0, hi: 100 });
  });
});

describe('rescaleTensor', () => {
  it('rescales per channel along an axis', () => {
    const { multiplier, shift } = encodeMultipliers([0.5, 0.25, 1]);
    // [2, 3, 2]: channel axis 1.
    const acc = [1, 3, 4, 5, 6, -6, -1, -3, 4, 5, 200, -200];
    const out = rescaleTensor(acc, [2, 3, 2], 1, { multiplier, shift, outDtype: 'int8' });
    expect(out).toBeInstanceOf(Int8Array);
    expect([...out]).toEqual([1, 2, 1, 1, 6, -6, 0, -1, 1, 1, 127, -128]);
    const perTensor = rescaleTensor(Int32Array.from([3, -3]), [2], 0, { multiplier: [2 ** 21], shift: [22], outDtype: 'int16' });
    expect(perTensor).toBeInstanceOf(Int16Array);
    expect([...perTensor]).toEqual([2, -1]);
    expect(codeOf(() => rescaleTensor(acc, [2, 3, 2], 2, { multiplier, shift, outDtype: 'int8' }))).toBe('QK_RESCALE');
  });
});

describe('encodeScaleShift', () => {
  /** floor((q · multiplier + offset) / 2^shift) in BigInt. */
  const exact = (q: number, e: { multiplier: number; shift: number; offset: number }) => {
    const numerator = BigInt(q) * BigInt(e.multiplier) + BigInt(e.offset);
    const divisor = 1n << BigInt(e.shift);
    const y = numerator / divisor;
    return Number(numerator < 0n && y * divisor !== numerator ? y - 1n : y);
  };

  it('computes round(q · m + b) within 2^-20 of the real value, exactly as the BigInt definition, for random m, b and q', () => {
    const rng = new Xoshiro128(11);
    for (let i = 0; i < 5000; i++) {
      const m = (rng.nextFloat64() < 0.5 ? -1 : 1) * 2 ** (-30 + 40 * rng.nextFloat64());
      const b = (rng.nextFloat64() * 2 - 1) * 2 ** (20 * rng.nextFloat64());
      const e = encodeScaleShift(m, b);
      expect(e.shift).toBeGreaterThanOrEqual(1);
      expect(e.shift).toBeLessThanOrEqual(SCALE_SHIFT_MAX_SHIFT);
      expect(Math.abs(e.offset)).toBeLessThan(2 ** 52);
      for (const q of [-32768, 32767, Math.floor(rng.nextFloat64() * 65536) - 32768, 0]) {
        const y = scaleShiftValue(q, e.multiplier, e.shift, e.offset);
        expect(y).toBe(exact(q, e));
        const real = q * m + b;
        // Saturated either way beyond the output range: the clamp of b may move such values.
        if (Math.abs(real) > 40000) continue;
        const tolerance = 0.5 + 32768 * Math.max(Math.abs(m) * 2 ** -22, 2 ** -36) + 2 ** -30;
        expect(Math.abs(y - real)).toBeLessThanOrEqual(tolerance);
      }
    }
  });

  it('keeps the saturated side of a huge shift: every code saturates as q · m + b does', () => {
    for (const [m, b] of [
      [3, 1e12],
      [-3, -1e12],
      [2 ** 25, 1e15],
    ] as const) {
      const e = encodeScaleShift(m, b);
      expect(Math.abs(e.offset)).toBeLessThan(2 ** 52);
      for (const q of [-32768, -1, 0, 1, 32767]) {
        const y = scaleShiftValue(q, e.multiplier, e.shift, e.offset);
        expect(Math.sign(y)).toBe(Math.sign(q * m + b));
        expect(Math.abs(y)).toBeGreaterThan(32767);
      }
    }
  });

  it('refuses a non-finite scale or shift, naming the subject', () => {
    expect(codeOf(() => encodeScaleShift(Number.NaN, 0, 'bn (channel 3)'))).toBe('QK_RESCALE');
    expect(codeOf(() => encodeScaleShift(1, Infinity))).toBe('QK_RESCALE');
  });
});
