import { absMaxPerTensor, isQuantkitError, scaleFromAmax, squaredQuantizationErrors } from '@quantkit/core';
import type { ObserverOptions, ObserverState, QuantDtype } from '@quantkit/core';
import { describe, expect, it } from 'vitest';
import { MSE_RATIOS, MSEObserver, mseObserverFactory } from './mse-observer.js';
import type { MSEObserverConfig } from './mse-observer.js';

const perTensor: ObserverOptions = { dtype: 'qint8', granularity: { kind: 'per-tensor' } };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isQuantkitError(error) ? error.code : `not a QuantkitError: ${String(error)}`;
  }
  return undefined;
}

/** Deterministic uniform (0, 1) numbers. */
function uniforms(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
}

function gaussians(n: number, seed: number): Float32Array {
  const u = uniforms(seed);
  return Float32Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u()));
}

/** Standard normal data with ±30 every 50000 elements: rare enough that clipping them pays. */
function withOutliers(n: number, seed: number): Float32Array {
  const data = gaussians(n, seed);
  for (let i = 0; i < n; i += 50000) data[i] = i % 100000 === 0 ? 30 : -30;
  return data;
}

/** The exact search on raw data: errors of every candidate, the least one winning, ties to the smaller r. */
function bruteForce(data: Float32Array, dtype: QuantDtype): { clip: number; errors: Float64Array; scales: number[] } {
  const amax = absMaxPerTensor(data);
  const scales = MSE_RATIOS.map((r) => scaleFromAmax(Math.fround(amax * r), dtype));
  const errors = squaredQuantizationErrors(data, { outer: 1, channels: 1, inner: data.length }, 0, scales, dtype);
  let best = 0;
  errors.forEach((e, c) => {
    if (e <= errors[best]!) best = c;
  });
  return { clip: Math.fround(amax * MSE_RATIOS[best]!), errors, scales };
}

function observed(data: Float32Array, config?: MSEObserverConfig, options: ObserverOptions = perTensor): MSEObserver {
  const observer = new MSEObserver(options, config);
  observer.observe(data, [data.length]);
  return observer;
}

function clipOf(observer: MSEObserver): number {
  return observer.qparams().amax[0]!;
}

describe('MSEObserver', () => {
  it('has 95 candidate ratios 1.00, 0.99, …, 0.06', () => {
    expect(MSE_RATIOS).toHaveLength(95);
    expect([MSE_RATIOS[0], MSE_RATIOS[1], MSE_RATIOS[94]]).toEqual([1, 0.99, 0.06]);
  });

  describe('case 1: histogram mode (default)', () => {
    it('picks r < 1 on data with outliers', () => {
      const data = withOutliers(100000, 1);
      const observer = observed(data);
      expect(clipOf(observer)).toBeLessThan(0.9 * 30);
      expect(observer.qparams().scale[0]).toBe(scaleFromAmax(clipOf(observer), 'qint8'));
    });

    it('picks r = 1 on uniform data', () => {
      const u = uniforms(2);
      const data = Float32Array.from({ length: 20000 }, () => u() * 2 - 1);
      expect(clipOf(observed(data))).toBe(absMaxPerTensor(data));
    });

    it('decides within 0.5% of the error of the brute-force exact search on the raw data', () => {
      const u = uniforms(3);
      const laplace = (n: number) => Float32Array.from({ length: n }, () => (u() < 0.5 ? -1 : 1) * Math.log(u()));
      const relu = (n: number) => gaussians(n, 4).map((x) => Math.max(0, x));
      const cases = [gaussians(1000, 5), gaussians(50000, 6), laplace(50000), relu(50000), withOutliers(50000, 7)];
      for (const dtype of ['qint8', 'qint16'] as const) {
        for (const data of cases) {
          const exact = bruteForce(data, dtype);
          const chosen = observed(data, {}, { dtype, granularity: { kind: 'per-tensor' } }).qparams().scale[0]!;
          const error = exact.errors[exact.scales.indexOf(chosen)]!;
          expect(error / Math.min(...exact.errors)).toBeLessThan(1.005);
        }
      }
    });

    it('per channel: each channel decides on its own data', () => {
      // dims [n, 2], axis 1: channel 0 uniform, channel 1 with outliers.
      const n = 100000;
      const u = uniforms(8);
      const outliers = withOutliers(n, 9);
      const data = new Float32Array(2 * n);
      for (let i = 0; i < n; i++) {
        data[2 * i] = u() * 2 - 1;
        data[2 * i + 1] = outliers[i]!;
      }
      const observer = new MSEObserver({ dtype: 'qint8', granularity: { kind: 'per-channel', axis: 1 } });
      observer.observe(data, [n, 2]);
      const { amax } = observer.qparams();
      expect(amax[0]).toBe(absMaxPerTensor(data.filter((_, i) => i % 2 === 0)));
      expect(amax[1]).toBeLessThan(0.9 * 30);
    });

    it('does not depend on batch order or size', () => {
      const data = withOutliers(10000, 10);
      const one = observed(data);
      const batched = new MSEObserver(perTensor);
      for (const [start, end] of [
        [7000, 10000],
        [0, 13],
        [5000, 7000],
        [13, 5000],
      ] as const) {
        batched.observe(data.subarray(start, end), [end - start]);
      }
      expect(batched.state()).toEqual(one.state());
      expect(batched.qparams()).toEqual(one.qparams());
    });

    it('merging two shards gives the state and the scale of one run over all data', () => {
      const data = withOutliers(10000, 11);
      const a = observed(data.subarray(0, 3000).map((x) => x * 0.1));
      const b = observed(data.subarray(3000));
      const all = observed(Float32Array.from([...data.subarray(0, 3000).map((x) => x * 0.1), ...data.subarray(3000)]));
      a.merge(JSON.parse(JSON.stringify(b.state())) as ObserverState);
      expect(a.state()).toEqual(all.state());
      expect(a.qparams()).toEqual(all.qparams());
    });

    it('ties go to the smaller r', () => {
      // amax so small that every candidate gets MIN_SCALE: all errors equal, so r = 0.06 wins.
      const data = Float32Array.from([1e-6, -5e-7, 2.5e-7]);
      expect(clipOf(observed(data))).toBe(Math.fround(Math.fround(1e-6) * 0.06));
      expect(clipOf(observed(data, { mode: 'per-batch' }))).toBe(Math.fround(Math.fround(1e-6) * 0.06));
    });

    it('int16 divides the clip by 32767.5', () => {
      const observer = observed(gaussians(5000, 12), {}, { dtype: 'qint16', granularity: { kind: 'per-tensor' } });
      const { amax, scale } = observer.qparams();
      expect(scale[0]).toBe(Math.fround(amax[0]! / 32767.5));
    });
  });

  describe('case 2: per-batch mode (Horizon)', () => {
    it('each batch decides exactly on its own data', () => {
      for (const data of [withOutliers(5000, 13), gaussians(3000, 14)]) {
        expect(clipOf(observed(data, { mode: 'per-batch' }))).toBe(bruteForce(data, 'qint8').clip);
      }
    });

    it('the first batch sets the clip, then r ← r + c·(batch − r)', () => {
      const grid = (amax: number) => Float32Array.from({ length: 2001 }, (_, i) => ((i - 1000) / 1000) * amax);
      // Evenly spread data: each batch keeps its full range.
      expect(bruteForce(grid(1), 'qint8').clip).toBe(1);
      expect(bruteForce(grid(3), 'qint8').clip).toBe(3);
      const observer = new MSEObserver(perTensor, { mode: 'per-batch', averagingConstant: 0.5 });
      for (const amax of [1, 3, 0.5]) observer.observe(grid(amax), [2001]);
      // 1 → 1 + 0.5·(3 − 1) = 2 → 2 + 0.5·(0.5 − 2) = 1.25
      expect(clipOf(observer)).toBe(1.25);
      expect(observer.state()).toMatchObject({ batches: 3, clip: [1.25] });
    });

    it("averages with Horizon's default constant 0.01", () => {
      const observer = new MSEObserver(perTensor, { mode: 'per-batch' });
      expect(observer.averagingConstant).toBe(0.01);
      observer.observe(Float32Array.from({ length: 2001 }, (_, i) => (i - 1000) / 1000), [2001]);
      observer.observe(Float32Array.from({ length: 2001 }, (_, i) => (i - 1000) / 500), [2001]);
      expect(clipOf(observer)).toBe(Math.fround(1 + Math.fround(Math.fround(0.01) * 1)));
    });

    it('merge takes the batch-weighted mean of the shards', () => {
      const grid = (amax: number) => Float32Array.from({ length: 2001 }, (_, i) => ((i - 1000) / 1000) * amax);
      const a = new MSEObserver(perTensor, { mode: 'per-batch', averagingConstant: 0.5 });
      for (const amax of [1, 3]) a.observe(grid(amax), [2001]);
      const b = observed(grid(8), { mode: 'per-batch', averagingConstant: 0.5 });
      a.merge(b.state());
      // (2 · 2 + 1 · 8) / 3 = 4
      expect(a.state()).toMatchObject({ batches: 3, clip: [4] });
    });
  });

  describe('case 3: empty batches and bad data', () => {
    it('ignores empty batches and has no qparams before any data', () => {
      for (const config of [{}, { mode: 'per-batch' as const }]) {
        const observer = new MSEObserver(perTensor, config);
        observer.observe(new Float32Array(0), [0, 3]);
        expect(codeOf(() => observer.qparams())).toBe('QK_CALIB_DATA');
      }
    });

    it('refuses NaN and Infinity with QK_CALIB_DATA and keeps its state', () => {
      for (const config of [{}, { mode: 'per-batch' as const }]) {
        const observer = observed(Float32Array.from([1, -2]), config);
        const before = observer.state();
        expect(codeOf(() => observer.observe(Float32Array.from([0, NaN]), [2]))).toBe('QK_CALIB_DATA');
        expect(codeOf(() => observer.observe(Float32Array.from([-Infinity]), [1]))).toBe('QK_CALIB_DATA');
        expect(observer.state()).toEqual(before);
      }
    });

    it('refuses a changed channel count', () => {
      const observer = new MSEObserver({ dtype: 'qint8', granularity: { kind: 'per-channel', axis: 0 } });
      observer.observe(new Float32Array(6), [2, 3]);
      expect(codeOf(() => observer.observe(new Float32Array(6), [3, 2]))).toBe('QK_TENSOR_DATA');
    });
  });

  describe('state', () => {
    it('survives a JSON round trip in both modes, and observing goes on as if uninterrupted', () => {
      const options: ObserverOptions = { dtype: 'qint8', granularity: { kind: 'per-channel', axis: 1 } };
      const first = withOutliers(4000, 15);
      const second = gaussians(4000, 16);
      for (const config of [{}, { bins: 256 }, { mode: 'per-batch' as const, averagingConstant: 0.2 }]) {
        const straight = new MSEObserver(options, config);
        straight.observe(first, [2000, 2]);
        straight.observe(second, [2000, 2]);
        const interrupted = new MSEObserver(options, config);
        interrupted.observe(first, [2000, 2]);
        const restored = MSEObserver.restore(JSON.parse(JSON.stringify(interrupted.state())) as ObserverState);
        expect(restored.state()).toEqual(interrupted.state());
        restored.observe(second, [2000, 2]);
        expect(restored.state()).toEqual(straight.state());
        expect(restored.qparams()).toEqual(straight.qparams());
      }
    });

    it('merge refuses states of another mode, bin count, constant or channel count', () => {
      const observer = observed(Float32Array.from([1, 2]));
      const good = observed(Float32Array.from([3, 4])).state();
      const bad: ObserverState[] = [
        { ...good, kind: 'minmax' },
        { ...good, mode: 'per-batch' },
        { ...good, bins: 256 },
        { ...good, histograms: [...(good.histograms as unknown[]), ...(good.histograms as unknown[])] },
        { ...good, histograms: [{ amax: 1, exponent: 7, counts: [] }] },
        { ...good, dtype: 'qint16' },
      ];
      for (const state of bad) expect(codeOf(() => observer.merge(state)), JSON.stringify(state)).toBe('QK_CALIB_DATA');
      const perBatch = observed(Float32Array.from([1, 2]), { mode: 'per-batch' });
      const goodBatch = perBatch.state();
      for (const state of [
        { ...goodBatch, averagingConstant: 0.5 },
        { ...goodBatch, clip: [-1] },
        { ...goodBatch, batches: 0 },
        { ...goodBatch, clip: [1, 2] },
      ]) {
        expect(codeOf(() => perBatch.merge(state)), JSON.stringify(state)).toBe('QK_CALIB_DATA');
      }
      expect(codeOf(() => MSEObserver.restore({ ...good, mode: 'kl' }))).toBe('QK_CALIB_DATA');
      expect(codeOf(() => MSEObserver.restore({ ...good, bins: 1000 }))).toBe('QK_CALIB_DATA');
    });
  });

  describe('options', () => {
    it('refuses bad modes, bins, constants and options that belong to the other mode', () => {
      const bad: Record<string, unknown>[] = [
        { mode: 'kl' },
        { bins: 1000 },
        { bins: 128 },
        { bins: '4096' },
        { averagingConstant: 0.1 },
        { mode: 'per-batch', bins: 4096 },
        { mode: 'per-batch', averagingConstant: 0 },
        { stride: 1 },
      ];
      for (const config of bad) {
        expect(codeOf(() => new MSEObserver(perTensor, config as MSEObserverConfig)), JSON.stringify(config)).toBe(
          'QK_CONFIG',
        );
      }
    });
  });

  describe('mseObserverFactory', () => {
    it('creates and restores observers of kind mse', () => {
      expect(mseObserverFactory.kind).toBe('mse');
      const observer = mseObserverFactory.create(perTensor, { mode: 'per-batch' });
      observer.observe(Float32Array.from([1, -3]), [2]);
      const restored = mseObserverFactory.restore(observer.state(), { mode: 'per-batch' });
      expect(restored.state()).toEqual(observer.state());
      expect(restored.kind).toBe('mse');
    });

    it('refuses to restore a state made with other settings than the config', () => {
      const state = new MSEObserver(perTensor).state();
      expect(codeOf(() => mseObserverFactory.restore(state, { bins: 8192 }))).toBe('QK_CONFIG');
      expect(codeOf(() => mseObserverFactory.restore(state, { mode: 'per-batch' }))).toBe('QK_CONFIG');
      expect(mseObserverFactory.restore(state, {}).state()).toEqual(state);
    });
  });
});
