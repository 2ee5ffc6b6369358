import { describe, expect, it } from 'vitest';
import { compareTensors, SQNR_CAP_DB } from '../metrics/compare-tensors.js';
import { addToSums, emptySums, mergeSums, metricsOfSums } from './error-sums.js';

function wave(n: number, phase: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => scale * Math.sin(i * 0.37 + phase));
}

function close(a: ReturnType<typeof metricsOfSums>, b: ReturnType<typeof metricsOfSums>) {
  expect(a.sqnrDb).toBeCloseTo(b.sqnrDb, 9);
  expect(a.cosine).toBeCloseTo(b.cosine, 12);
  expect(a.maxAbs).toBe(b.maxAbs);
  expect(a.meanAbs).toBeCloseTo(b.meanAbs, 12);
}

describe('error sums', () => {
  it('on one tensor they give what compareTensors gives', () => {
    const ref = wave(100, 0);
    const test = ref.map((x, i) => x + 0.01 * Math.cos(i));
    const sums = emptySums();
    addToSums(sums, ref, test);
    close(metricsOfSums(sums), compareTensors(ref, test));
  });

  it('merged over samples they equal compareTensors of the samples laid end to end', () => {
    const refs = [wave(64, 0), wave(64, 1, 10), wave(32, 2, 0.1)];
    const tests = refs.map((r, k) => r.map((x, i) => x + 0.02 * (k + 1) * Math.cos(3 * i)));
    const total = emptySums();
    for (const [k, ref] of refs.entries()) {
      const one = emptySums();
      addToSums(one, ref, tests[k]!);
      mergeSums(total, one);
    }
    const concat = (parts: Float32Array[]) => Float32Array.from(parts.flatMap((p) => [...p]));
    close(metricsOfSums(total), compareTensors(concat(refs), concat(tests)));
    expect(total.count).toBe(160);
  });

  it('reads integer and int64 outputs as numbers', () => {
    const sums = emptySums();
    addToSums(sums, BigInt64Array.from([1n, 2n, 3n]), Int32Array.from([1, 2, 4]));
    expect(metricsOfSums(sums)).toMatchObject({ maxAbs: 1, meanAbs: 1 / 3 });
    expect(metricsOfSums(sums).sqnrDb).toBeCloseTo(10 * Math.log10(14), 12);
  });

  it('identical data is the cap, non-finite data NaN, nothing at all identical', () => {
    const same = emptySums();
    addToSums(same, [1, 2], [1, 2]);
    expect(metricsOfSums(same)).toEqual({ sqnrDb: SQNR_CAP_DB, cosine: 1, maxAbs: 0, meanAbs: 0 });
    const bad = emptySums();
    addToSums(bad, [1, Number.POSITIVE_INFINITY], [1, 2]);
    expect(metricsOfSums(bad).sqnrDb).toBeNaN();
    expect(metricsOfSums(emptySums())).toEqual({ sqnrDb: SQNR_CAP_DB, cosine: 1, maxAbs: 0, meanAbs: 0 });
  });
});
