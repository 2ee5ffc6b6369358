import { describe, expect, it } from 'vitest';
import { quantizeValue } from '@quantkit/core';
import { AbsHistogram } from './abs-histogram.js';

function histogramOf(bins: number, ...batches: number[][]): AbsHistogram {
  const histogram = new AbsHistogram(bins);
  for (const batch of batches) {
    const data = Float32Array.from(batch);
    histogram.cover(Math.max(0, ...batch.map(Math.abs)));
    histogram.addRun(data, 0, data.length);
  }
  return histogram;
}

describe('AbsHistogram', () => {
  it('bins exact zeros apart, |x| in right-closed bins, by sign', () => {
    // amax 3 → range [0, 4), 4 bins of width 1.
    const json = histogramOf(4, [0, -0, 0.5, 1, 1.5, -1, -3, 3]).toJSON();
    expect(json).toEqual({ amax: 3, exponent: 2, counts: [-3, 1, -1, 1, 0, 2, 1, 2, 2, 1, 3, 1] });
  });

  it('picks the smallest power-of-two range above amax', () => {
    expect(histogramOf(256, [1]).exponent).toBe(1);
    expect(histogramOf(256, [0.75]).exponent).toBe(0);
    expect(histogramOf(256, [2 ** -149]).exponent).toBe(-148);
    expect(histogramOf(256, [0]).exponent).toBe(-149);
    expect(histogramOf(256, [3.4e38]).exponent).toBe(128);
  });

  it('growing the range gives the counts of binning on the final range from the start', () => {
    const values = [0, 0.01, -0.02, 0.3, 0.26, -0.7, 1.9, 5, -13.5, 0.001, 7.25, -7.25];
    const grown = histogramOf(256, values.slice(0, 2), values.slice(2, 5), values.slice(5, 8), values.slice(8));
    const once = histogramOf(256, values);
    const reversed = histogramOf(256, [...values].reverse());
    expect(grown.toJSON()).toEqual(once.toJSON());
    expect(reversed.toJSON()).toEqual(once.toJSON());
  });

  it('merging equals one run over both data sets', () => {
    const a = [0.5, -0.25, 0, 3, 2.75];
    const b = [100, -0.001, 0, 64, -64.5];
    const merged = histogramOf(512, a);
    merged.merge(histogramOf(512, b));
    expect(merged.toJSON()).toEqual(histogramOf(512, a, b).toJSON());
    const other = histogramOf(512, b);
    other.merge(histogramOf(512, a));
    expect(other.toJSON()).toEqual(merged.toJSON());
  });

  it('JSON round trip', () => {
    const histogram = histogramOf(256, [0, 1, -2, 3.5, -0.125]);
    const json = JSON.parse(JSON.stringify(histogram.toJSON())) as unknown;
    const restored = AbsHistogram.fromJSON(json, 256);
    expect(restored).toBeInstanceOf(AbsHistogram);
    expect((restored as AbsHistogram).toJSON()).toEqual(histogram.toJSON());
  });

  it('fromJSON describes inconsistent states', () => {
    const ok = { amax: 3, exponent: 2, counts: [1, 5] };
    expect(AbsHistogram.fromJSON(ok, 4)).toBeInstanceOf(AbsHistogram);
    expect(AbsHistogram.fromJSON(null, 4)).toMatch(/not an object/);
    expect(AbsHistogram.fromJSON({ ...ok, amax: -1 }, 4)).toMatch(/amax/);
    expect(AbsHistogram.fromJSON({ ...ok, exponent: 3 }, 4)).toMatch(/exponent/);
    expect(AbsHistogram.fromJSON({ ...ok, exponent: 1 }, 4)).toMatch(/exponent/);
    expect(AbsHistogram.fromJSON({ ...ok, counts: [1] }, 4)).toMatch(/pairs/);
    expect(AbsHistogram.fromJSON({ ...ok, counts: [5, 1] }, 4)).toMatch(/bin 5/);
    expect(AbsHistogram.fromJSON({ amax: 1.5, exponent: 1, counts: [4, 1] }, 4)).toMatch(/above amax/);
    expect(AbsHistogram.fromJSON({ ...ok, counts: [1, 0.5] }, 4)).toMatch(/count/);
  });

  it('squaredErrors is the error integrated over each bin, values spread uniformly within it', () => {
    // amax 3 → range [0, 4), bins of width 1/64. Check against a fine midpoint quadrature of (t − Q(t))².
    const values = [0, 0.3, 0.31, -0.5, 1.01, 2.2, -2.99, 3, -3];
    const histogram = histogramOf(256, values);
    const width = 4 / 256;
    const amax = 3;
    for (const scale of [3 / 127.5, 0.01, 0.001, 1e-5]) {
      let expected = 0;
      for (const x of values) {
        if (x === 0) continue;
        const j = Math.ceil(Math.abs(x) / width);
        const lo = (j - 1) * width;
        const hi = Math.min(j * width, amax);
        const steps = 20000;
        let sum = 0;
        for (let k = 0; k < steps; k++) {
          const t = Math.sign(x) * (lo + ((k + 0.5) / steps) * (hi - lo));
          const e = t - quantizeValue(t, scale, 'qint8') * scale;
          sum += e * e;
        }
        expected += sum / steps;
      }
      const [error] = histogram.squaredErrors([scale], 'qint8');
      expect(error! / expected, `scale ${scale}`).toBeCloseTo(1, 4);
    }
  });

  it('squaredErrors saturates negatives one level later than positives', () => {
    const s = 0.01;
    const positive = histogramOf(256, [1.28]).squaredErrors([s], 'qint8')[0]!;
    const negative = histogramOf(256, [-1.28]).squaredErrors([s], 'qint8')[0]!;
    expect(negative).toBeLessThan(positive);
  });
});
