import { minMaxPerChannel, minMaxPerTensor, QuantkitError, scaleFromAmax } from '@quantkit/core';
import type { BatchSummary, Observer, ObserverFactory, ObserverOptions, ObserverState, QParams, SummaryNeeds } from '@quantkit/core';
import {
  badState,
  batchLayout,
  checkAveragingConstant,
  checkConfigKeys,
  checkOptions,
  checkStateHeader,
  noData,
  nonFiniteData,
  readCount,
  readNumbers,
} from './checks.js';
import { averagingStep, mergeAverages } from './running-average.js';

const KIND = 'minmax';

export interface MinMaxObserverConfig {
  /**
   * Unset (default): the range over all calibration data. Set to c in (0, 1]: Horizon's running average, where
   * the first batch sets the range and each later batch moves it by r ← r + c·(batch − r).
   */
  averagingConstant?: number;
}

/** The saved state: JSON, one entry per tensor or per channel in `min` / `max`, both empty before any data. */
export interface MinMaxObserverState extends ObserverState {
  kind: typeof KIND;
  averagingConstant: number | null;
  /** Non-empty batches observed. */
  batches: number;
  min: number[];
  max: number[];
}

/**
 * Symmetric min-max observer (DESIGN §5): amax = max(−min, max) per tensor or per channel, scale = amax / 127.5
 * (int8) or / 32767.5 (int16).
 *
 * 1. Default: min and max over all data. The result depends only on the data, not on how it is split into batches
 *    or shards; `merge` takes the min of mins and the max of maxes, so merged shards equal one run exactly.
 * 2. `averagingConstant` c: Horizon's running average. It averages min and max separately (as Horizon does) and
 *    takes amax at the end; averaging amax itself would differ whenever the dominant side changes between
 *    batches. Per channel, each channel averages its own batch min / max. `merge` combines two shards by the
 *    batch-weighted mean of their ranges (see `mergeAverages`): deterministic, but not a sequential run.
 * 3. Empty batches are ignored; NaN or ±Infinity in the data throws QK_CALIB_DATA and leaves the state unchanged.
 */
export class MinMaxObserver implements Observer {
  readonly kind = KIND;
  readonly options: ObserverOptions;
  readonly averagingConstant: number | undefined;
  private batches = 0;
  private min: number[] = [];
  private max: number[] = [];

  constructor(options: ObserverOptions, config: MinMaxObserverConfig = {}) {
    checkOptions(KIND, options);
    checkConfigKeys(KIND, config as Record<string, unknown>, ['averagingConstant']);
    this.options = { dtype: options.dtype, granularity: { ...options.granularity } };
    this.averagingConstant =
      config.averagingConstant === undefined ? undefined : checkAveragingConstant(KIND, config.averagingConstant);
  }

  /** Rebuilds an observer from its saved state. */
  static restore(state: ObserverState): MinMaxObserver {
    const c = state.averagingConstant;
    let observer: MinMaxObserver;
    try {
      observer = new MinMaxObserver(
        { dtype: state.dtype, granularity: state.granularity },
        (c === null ? {} : { averagingConstant: c }) as MinMaxObserverConfig,
      );
    } catch (error) {
      throw badState(KIND, 'its settings are invalid', error);
    }
    observer.merge(state);
    return observer;
  }

  observe(data: Float32Array, dims: readonly number[]): void {
    const { granularity } = this.options;
    batchLayout(KIND, granularity, data, dims, this.batches > 0 ? this.min.length : undefined);
    if (data.length === 0) return;
    let min: ArrayLike<number>;
    let max: ArrayLike<number>;
    if (granularity.kind === 'per-tensor') {
      const range = minMaxPerTensor(data);
      min = [range.min];
      max = [range.max];
    } else {
      ({ min, max } = minMaxPerChannel(data, dims, granularity.axis));
    }
    this.update(min, max);
  }

  /** Per tensor, the batch's range is all this observer needs; per channel it needs the elements. */
  summaryNeeds(): SummaryNeeds | undefined {
    return this.options.granularity.kind === 'per-tensor' ? {} : undefined;
  }

  /** Case 1–3 from a batch's range alone: the same state as `observe` of that batch (per tensor). */
  observeSummary(summary: BatchSummary): void {
    if (this.options.granularity.kind !== 'per-tensor') {
      throw new QuantkitError('QK_USAGE', `Observer '${KIND}' per channel needs the elements, not a summary.`);
    }
    if (summary.count === 0) return;
    this.update([summary.min], [summary.max]);
  }

  private update(min: ArrayLike<number>, max: ArrayLike<number>): void {
    for (let c = 0; c < min.length; c++) {
      if (!Number.isFinite(min[c]!)) throw nonFiniteData(KIND, min[c]!);
      if (!Number.isFinite(max[c]!)) throw nonFiniteData(KIND, max[c]!);
    }
    const c = this.averagingConstant;
    if (this.batches === 0) {
      this.min = Array.from(min);
      this.max = Array.from(max);
    } else if (c === undefined) {
      this.min = this.min.map((m, i) => Math.min(m, min[i]!));
      this.max = this.max.map((m, i) => Math.max(m, max[i]!));
    } else {
      this.min = this.min.map((m, i) => averagingStep(m, min[i]!, c));
      this.max = this.max.map((m, i) => averagingStep(m, max[i]!, c));
    }
    this.batches++;
  }

  state(): MinMaxObserverState {
    return {
      kind: KIND,
      dtype: this.options.dtype,
      granularity: { ...this.options.granularity },
      averagingConstant: this.averagingConstant ?? null,
      batches: this.batches,
      min: [...this.min],
      max: [...this.max],
    };
  }

  merge(state: ObserverState): void {
    checkStateHeader(KIND, this.options, state);
    const c = this.averagingConstant ?? null;
    if (state.averagingConstant !== c) {
      throw badState(KIND, `its averagingConstant is ${JSON.stringify(state.averagingConstant)}, not ${c}`);
    }
    const batches = readCount(KIND, state, 'batches');
    const min = readNumbers(KIND, state, 'min');
    const max = readNumbers(KIND, state, 'max');
    const channels = batches === 0 ? 0 : this.options.granularity.kind === 'per-tensor' ? 1 : min.length;
    if (min.length !== channels || max.length !== channels || min.some((m, i) => m > max[i]!)) {
      throw badState(KIND, `'min' / 'max' do not hold one ordered range per channel for ${batches} batches`);
    }
    if (batches === 0) return;
    if (this.batches > 0 && channels !== this.min.length) {
      throw badState(KIND, `it has ${channels} channels, this observer ${this.min.length}`);
    }
    if (this.batches === 0) {
      this.min = [...min];
      this.max = [...max];
    } else if (c === null) {
      this.min = this.min.map((m, i) => Math.min(m, min[i]!));
      this.max = this.max.map((m, i) => Math.max(m, max[i]!));
    } else {
      this.min = mergeAverages(this.min, this.batches, min, batches);
      this.max = mergeAverages(this.max, this.batches, max, batches);
    }
    this.batches += batches;
  }

  qparams(): QParams {
    if (this.batches === 0) throw noData(KIND);
    const { dtype, granularity } = this.options;
    const amax = Float32Array.from(this.min, (m, i) => Math.max(-m, this.max[i]!));
    return { dtype, granularity: { ...granularity }, amax, scale: amax.map((a) => scaleFromAmax(a, dtype)) };
  }
}

export const minMaxObserverFactory: ObserverFactory = {
  kind: KIND,
  summary: 'symmetric min-max: amax over all data, or Horizon running average with averagingConstant',
  // config comes from JSON; the constructor checks its keys and values.
  create: (options, config) => new MinMaxObserver(options, config as MinMaxObserverConfig | undefined),
  restore: (state, config) => {
    const observer = MinMaxObserver.restore(state);
    if (config !== undefined) {
      const expected = new MinMaxObserver(observer.options, config as MinMaxObserverConfig).averagingConstant;
      if (expected !== observer.averagingConstant) {
        throw new QuantkitError(
          'QK_CONFIG',
          `The saved '${KIND}' state has averagingConstant ${observer.averagingConstant}, the config ${expected}.`,
          { hint: 'Re-run calibration with the current config, or drop the option to use the saved state as is.' },
        );
      }
    }
    return observer;
  },
};
