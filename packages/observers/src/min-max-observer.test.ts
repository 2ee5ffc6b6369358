import { isQuantkitError, MIN_SCALE } from '@quantkit/core';
import type { ObserverOptions, ObserverState } from '@quantkit/core';
import { describe, expect, it } from 'vitest';
import { MinMaxObserver, minMaxObserverFactory } from './min-max-observer.js';

const perTensor: ObserverOptions = { dtype: 'qint8', granularity: { kind: 'per-tensor' } };
const perChannel: ObserverOptions = { dtype: 'qint8', granularity: { kind: 'per-channel', axis: 1 } };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isQuantkitError(error) ? error.code : `not a QuantkitError: ${String(error)}`;
  }
  return undefined;
}

function observeAll(observer: MinMaxObserver, batches: number[][], dims?: number[]): MinMaxObserver {
  for (const batch of batches) observer.observe(Float32Array.from(batch), dims ?? [batch.length]);
  return observer;
}

describe('MinMaxObserver', () => {
  describe('case 1: range over all data (default)', () => {
    it('per tensor: amax = max |x| over every batch, scale = amax / 127.5', () => {
      const q = observeAll(new MinMaxObserver(perTensor), [[0.5, -1], [2, 0], [-3.5, 1]]).qparams();
      expect(Array.from(q.amax)).toEqual([3.5]);
      expect(Array.from(q.scale)).toEqual([Math.fround(3.5 / 127.5)]);
      expect(q.granularity).toEqual({ kind: 'per-tensor' });
    });

    it('per channel: amax of each channel on a hand-computed tensor', () => {
      // dims [2, 3, 2], axis 1: channel c holds elements 2c, 2c+1, 6+2c, 7+2c.
      const data = [1, -2, 3, 0.5, -7, 2, 4, 0, -1, 6, 0.25, -0.5];
      const q = observeAll(new MinMaxObserver(perChannel), [data], [2, 3, 2]).qparams();
      expect(Array.from(q.amax)).toEqual([4, 6, 7]);
      expect(Array.from(q.scale)).toEqual([4, 6, 7].map((a) => Math.fround(a / 127.5)));
    });

    it('int16 divides by 32767.5', () => {
      const observer = new MinMaxObserver({ dtype: 'qint16', granularity: { kind: 'per-tensor' } });
      expect(Array.from(observeAll(observer, [[-32767.5, 1]]).qparams().scale)).toEqual([1]);
    });

    it('does not depend on how the data is batched', () => {
      const data = [0.5, -1, 2, 0, -3.5, 1, 0.25, 7, -2];
      const one = observeAll(new MinMaxObserver(perTensor), [data]);
      const many = observeAll(new MinMaxObserver(perTensor), [data.slice(0, 2), data.slice(2, 7), data.slice(7)]);
      expect(many.qparams()).toEqual(one.qparams());
    });

    it('an all-zero tensor gets MIN_SCALE', () => {
      expect(Array.from(observeAll(new MinMaxObserver(perTensor), [[0, -0, 0]]).qparams().scale)).toEqual([MIN_SCALE]);
    });
  });

  describe('case 2: Horizon running average (averagingConstant)', () => {
    it('the first batch sets min / max, then r ← r + c·(batch − r), amax taken at the end', () => {
      const observer = new MinMaxObserver(perTensor, { averagingConstant: 0.5 });
      // Batch ranges: [-1, 2], [-3, 1], [0, 4].
      observeAll(observer, [[-1, 2], [-3, 1], [0, 4]]);
      // min: -1 → -1 + 0.5·(-3 + 1) = -2 → -2 + 0.5·(0 + 2) = -1.  max: 2 → 1.5 → 2.75.
      expect(observer.state()).toMatchObject({ batches: 3, min: [-1], max: [2.75] });
      // Averaging amax itself would give 2 → 2.5 → 3.25; Horizon averages the ends.
      expect(Array.from(observer.qparams().amax)).toEqual([2.75]);
    });

    it('computes in float32 as Horizon does', () => {
      const c = 0.01;
      const observer = observeAll(new MinMaxObserver(perTensor, { averagingConstant: c }), [[0.3], [0.7], [0.1]]);
      const f = Math.fround;
      let r = f(0.3);
      for (const b of [0.7, 0.1]) r = f(r + f(f(c) * f(f(b) - r)));
      expect(observer.state().max).toEqual([r]);
    });

    it('per channel: each channel averages its own batch ranges', () => {
      const observer = new MinMaxObserver(perChannel, { averagingConstant: 0.5 });
      observeAll(observer, [[1, -2, 4, 8], [3, -6, 0, 0]], [1, 2, 2]);
      // channel 0: [-2, 1] then [-6, 3] → [-4, 2]; channel 1: [4, 8] then [0, 0] → [2, 4].
      expect(observer.state()).toMatchObject({ min: [-4, 2], max: [2, 4] });
      expect(Array.from(observer.qparams().amax)).toEqual([4, 4]);
    });
  });

  describe('case 3: empty batches and bad data', () => {
    it('ignores empty batches', () => {
      const observer = new MinMaxObserver(perTensor, { averagingConstant: 0.5 });
      observeAll(observer, [[], [1, -2], []]);
      expect(observer.state()).toMatchObject({ batches: 1, min: [-2], max: [1] });
    });

    it('refuses NaN and Infinity with QK_CALIB_DATA and keeps its state', () => {
      const observer = observeAll(new MinMaxObserver(perTensor), [[1, -2]]);
      const before = observer.state();
      expect(codeOf(() => observer.observe(new Float32Array([0, NaN]), [2]))).toBe('QK_CALIB_DATA');
      expect(codeOf(() => observer.observe(new Float32Array([Infinity]), [1]))).toBe('QK_CALIB_DATA');
      expect(observer.state()).toEqual(before);
    });

    it('refuses data that does not match its dims, or a changed channel count', () => {
      const observer = new MinMaxObserver(perChannel);
      expect(codeOf(() => observer.observe(new Float32Array(5), [2, 3]))).toBe('QK_TENSOR_DATA');
      observer.observe(new Float32Array(6), [2, 3]);
      expect(codeOf(() => observer.observe(new Float32Array(8), [2, 4]))).toBe('QK_TENSOR_DATA');
      expect(codeOf(() => new MinMaxObserver(perTensor).observe(new Float32Array(5), [2, 3]))).toBe('QK_TENSOR_DATA');
    });

    it('has no qparams before any data', () => {
      expect(codeOf(() => new MinMaxObserver(perTensor).qparams())).toBe('QK_CALIB_DATA');
    });
  });

  describe('merge', () => {
    const shards = [
      [[0.5, -1, 2, 0], [-3.5, 1]],
      [[0.25, 7], [-2, 0.125, 1]],
    ];

    it('two shards equal one run over all data, exactly', () => {
      for (const [options, dims] of [
        [perTensor, undefined],
        [perChannel, [1, 2, 1]],
      ] as const) {
        const batches = shards.flat().map((b) => (dims ? b.slice(0, 2) : b));
        const one = observeAll(new MinMaxObserver(options), batches, dims && [...dims]);
        const a = observeAll(new MinMaxObserver(options), batches.slice(0, 2), dims && [...dims]);
        const b = observeAll(new MinMaxObserver(options), batches.slice(2), dims && [...dims]);
        a.merge(b.state());
        expect(a.state()).toEqual(one.state());
        expect(a.qparams()).toEqual(one.qparams());
      }
    });

    it('merging into or from an observer without data adopts the other side', () => {
      const full = observeAll(new MinMaxObserver(perTensor), shards[0]!);
      const empty = new MinMaxObserver(perTensor);
      empty.merge(full.state());
      expect(empty.state()).toEqual(full.state());
      full.merge(new MinMaxObserver(perTensor).state());
      expect(full.state()).toEqual(empty.state());
    });

    it('running averages combine as the batch-weighted mean of the shards', () => {
      const a = observeAll(new MinMaxObserver(perTensor, { averagingConstant: 0.5 }), [[-1, 2], [-3, 1], [0, 4]]);
      const b = observeAll(new MinMaxObserver(perTensor, { averagingConstant: 0.5 }), [[-4, 1]]);
      a.merge(b.state());
      // min: (3·(-1) + 1·(-4)) / 4 = -1.75; max: (3·2.75 + 1·1) / 4 = 2.3125.
      expect(a.state()).toMatchObject({ batches: 4, min: [-1.75], max: [2.3125] });
    });

    it('refuses states of another kind, dtype, granularity, setting or channel count', () => {
      const observer = observeAll(new MinMaxObserver(perChannel), [[1, 2]], [1, 2]);
      const good = observeAll(new MinMaxObserver(perChannel), [[3, 4]], [1, 2]).state();
      const bad: ObserverState[] = [
        { ...good, kind: 'mse' },
        { ...good, dtype: 'qint16' },
        { ...good, granularity: { kind: 'per-channel', axis: 0 } },
        { ...good, granularity: { kind: 'per-tensor' } },
        { ...good, averagingConstant: 0.5 },
        { ...good, min: [1, 2, 3], max: [1, 2, 3] },
        { ...good, min: [5, 5], max: [1, 1] },
        { ...good, batches: -1 },
        { ...good, min: ['1', 2] },
      ];
      for (const state of bad) expect(codeOf(() => observer.merge(state)), JSON.stringify(state)).toBe('QK_CALIB_DATA');
      expect(observer.state().min).toEqual([1, 2]);
    });
  });

  describe('state', () => {
    it('survives a JSON round trip, and observing goes on as if uninterrupted', () => {
      for (const config of [{}, { averagingConstant: 0.25 }]) {
        const straight = observeAll(new MinMaxObserver(perChannel, config), [[1, -2, 3, 4], [0, 9, -1, 2]], [2, 2]);
        const first = observeAll(new MinMaxObserver(perChannel, config), [[1, -2, 3, 4]], [2, 2]);
        const json = JSON.parse(JSON.stringify(first.state())) as ObserverState;
        const restored = MinMaxObserver.restore(json);
        expect(restored.state()).toEqual(first.state());
        restored.observe(Float32Array.from([0, 9, -1, 2]), [2, 2]);
        expect(restored.state()).toEqual(straight.state());
      }
    });
  });

  describe('options', () => {
    it('refuses unknown options and averaging constants outside (0, 1]', () => {
      expect(codeOf(() => new MinMaxObserver(perTensor, { averagingConstnt: 0.1 } as never))).toBe('QK_CONFIG');
      for (const c of [0, -0.1, 1.5, NaN]) {
        expect(codeOf(() => new MinMaxObserver(perTensor, { averagingConstant: c }))).toBe('QK_CONFIG');
      }
      expect(codeOf(() => new MinMaxObserver({ ...perTensor, dtype: 'int8' as never }))).toBe('QK_CONFIG');
      expect(codeOf(() => new MinMaxObserver({ ...perTensor, granularity: { kind: 'per-channel' } as never }))).toBe(
        'QK_CONFIG',
      );
    });
  });

  describe('minMaxObserverFactory', () => {
    it('creates and restores observers of kind minmax', () => {
      expect(minMaxObserverFactory.kind).toBe('minmax');
      const observer = minMaxObserverFactory.create(perTensor, { averagingConstant: 0.5 });
      observer.observe(Float32Array.from([1, -3]), [2]);
      const restored = minMaxObserverFactory.restore(observer.state(), { averagingConstant: 0.5 });
      expect(restored.state()).toEqual(observer.state());
      expect(restored.kind).toBe('minmax');
    });

    it('refuses to restore a state made with other settings than the config', () => {
      const state = new MinMaxObserver(perTensor).state();
      expect(codeOf(() => minMaxObserverFactory.restore(state, { averagingConstant: 0.5 }))).toBe('QK_CONFIG');
      expect(codeOf(() => minMaxObserverFactory.restore({ ...state, dtype: 'q4' as never }))).toBe('QK_CALIB_DATA');
    });
  });
});
