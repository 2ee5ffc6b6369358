import { describe, expect, it } from 'vitest';
import { compareTensors, SQNR_CAP_DB } from './compare-tensors.js';

describe('compareTensors', () => {
  it('reports identical tensors at the SQNR cap, cosine 1 and no error', () => {
    const a = Float32Array.from([0.5, -2, 3.25, 0]);
    expect(compareTensors(a, a.slice())).toEqual({ sqnrDb: SQNR_CAP_DB, cosine: 1, maxAbs: 0, meanAbs: 0 });
    expect(JSON.parse(JSON.stringify(compareTensors(a, a))).sqnrDb).toBe(SQNR_CAP_DB);
  });

  it('gives 10·log10 of the signal to noise energy ratio', () => {
    // Σref² = 4 · 1 = 4, Σnoise² = 4 · 0.01 = 0.04 (±0.1 alternating) → 100× → 20 dB.
    const ref = Float32Array.from([1, -1, 1, -1]);
    const test = Float32Array.from([1.1, -1.1, 0.9, -0.9]);
    const m = compareTensors(ref, test);
    expect(m.sqnrDb).toBeCloseTo(20, 5);
    expect(m.maxAbs).toBeCloseTo(0.1, 6);
    expect(m.meanAbs).toBeCloseTo(0.1, 6);
    // Scaling the noise by 10 costs 20 dB.
    const worse = Float32Array.from([2, -2, 0, 0]);
    expect(compareTensors(ref, worse).sqnrDb).toBeCloseTo(0, 10);
  });

  it('gives cosine 0 for orthogonal vectors and -1 for opposite ones', () => {
    expect(compareTensors(Float32Array.from([1, 0, 0]), Float32Array.from([0, 2, 0])).cosine).toBe(0);
    expect(compareTensors(Float32Array.from([1, 2]), Float32Array.from([-2, -4])).cosine).toBeCloseTo(-1, 12);
  });

  it('keeps zero references, non-finite data and length mismatches well-defined', () => {
    const zeros = new Float32Array(3);
    expect(compareTensors(zeros, zeros)).toMatchObject({ sqnrDb: SQNR_CAP_DB, cosine: 1 });
    expect(compareTensors(zeros, Float32Array.from([0, 1, 0]))).toMatchObject({ sqnrDb: -SQNR_CAP_DB, cosine: 0 });
    const nan = compareTensors(Float32Array.from([1, 2]), Float32Array.from([1, NaN]));
    expect(nan.sqnrDb).toBeNaN();
    expect(nan.cosine).toBeNaN();
    expect(nan.maxAbs).toBeNaN();
    expect(compareTensors(Float32Array.from([1, 2]), Float32Array.from([1, Infinity])).sqnrDb).toBeNaN();
    expect(() => compareTensors(new Float32Array(2), new Float32Array(3), "output 'z'")).toThrow(
      /output 'z'.*2 elements.*3/,
    );
  });
});
