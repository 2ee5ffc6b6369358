import {
  absMaxPerChannel,
  absMaxPerTensor,
  forEachChannelRun,
  QuantkitError,
  scaleFromAmax,
  squaredQuantizationErrors,
} from '@quantkit/core';
import type {
  BatchSummary,
  Observer,
  ObserverFactory,
  ObserverOptions,
  ObserverState,
  QParams,
  QuantDtype,
  SummaryNeeds,
} from '@quantkit/core';
import { AbsHistogram } from './abs-histogram.js';
import type { AbsHistogramJSON } from './abs-histogram.js';
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

const KIND = 'mse';

/** The candidate clip ratios r = 1.00, 0.99, …, 0.06, largest first so that `<=` hands ties to the smaller r. */
export const MSE_RATIOS: readonly number[] = Array.from({ length: 95 }, (_, k) => (100 - k) / 100);

/** Horizon's MSEObserver default. */
export const MSE_DEFAULT_AVERAGING_CONSTANT = 0.01;
/** Bins per sign: at least 2048 over [0, amax]; see `AbsHistogram` for the precision and memory trade-off. */
export const MSE_DEFAULT_BINS = 4096;

export type MSEMode = 'histogram' | 'per-batch';

export interface MSEObserverConfig {
  /** 'histogram' (default): decide once over all data. 'per-batch': Horizon's per-batch decision + running average. */
  mode?: MSEMode;
  /** per-batch mode only: c in r ← r + c·(batch − r); default 0.01 as in Horizon. */
  averagingConstant?: number;
  /** histogram mode only: bins per sign, a power of two in [256, 2^20]; default 4096. */
  bins?: number;
}

/** State in histogram mode: one histogram per tensor or channel, none before any data. */
export interface MSEHistogramState extends ObserverState {
  kind: typeof KIND;
  mode: 'histogram';
  bins: number;
  histograms: AbsHistogramJSON[];
}

/** State in per-batch mode: the running clip value per tensor or channel, none before any data. */
export interface MSEPerBatchState extends ObserverState {
  kind: typeof KIND;
  mode: 'per-batch';
  averagingConstant: number;
  batches: number;
  clip: number[];
}

export type MSEObserverState = MSEHistogramState | MSEPerBatchState;

/**
 * Symmetric MSE observer (DESIGN §5). Candidates are clip values amax·r for r in {@link MSE_RATIOS}; the chosen
 * one minimises the summed squared error of fake-quantizing the data at scale = clip / 127.5 (int8) or / 32767.5
 * (int16), ties going to the smaller r. Per channel, every channel decides on its own data.
 *
 * 1. mode 'histogram' (default): decides once, over all data, from an {@link AbsHistogram} per tensor or channel.
 *    The histogram is independent of batch order and size and merges exactly, so merged shards choose the same
 *    scale as one run over all data. `observe` costs two passes over the batch (max |x|, then binning) and no
 *    allocation per element; the decision (95 candidates × the non-empty bins) runs in `qparams`.
 * 2. mode 'per-batch': Horizon's MSEObserver. Each batch decides on its own data, exactly (95 fake-quantizations
 *    per non-zero element: the cost of fidelity, tens of times the histogram's), and the chosen clip values are
 *    averaged as r ← r + c·(batch − r), the first batch setting them. `merge` takes the batch-weighted mean of two
 *    shards (see `mergeAverages`).
 * 3. Empty batches are ignored; NaN or ±Infinity in the data throws QK_CALIB_DATA and leaves the state unchanged.
 * 4. `qparams().amax` is the chosen clip value.
 */
export class MSEObserver implements Observer {
  readonly kind = KIND;
  readonly options: ObserverOptions;
  readonly mode: MSEMode;
  /** per-batch mode only. */
  readonly averagingConstant: number | undefined;
  /** histogram mode only. */
  readonly bins: number | undefined;
  private histograms: AbsHistogram[] = [];
  private batches = 0;
  private clip: number[] = [];
  private decided: Float64Array | undefined;

  constructor(options: ObserverOptions, config: MSEObserverConfig = {}) {
    checkOptions(KIND, options);
    checkConfigKeys(KIND, config as Record<string, unknown>, ['mode', 'averagingConstant', 'bins']);
    this.options = { dtype: options.dtype, granularity: { ...options.granularity } };
    const { mode = 'histogram', averagingConstant, bins } = config;
    if (mode !== 'histogram' && mode !== 'per-batch') {
      throw new QuantkitError('QK_CONFIG', `Observer '${KIND}' got mode ${JSON.stringify(mode)}.`, {
        hint: "mode is 'histogram' (default) or 'per-batch'.",
      });
    }
    this.mode = mode;
    const misplaced = mode === 'histogram' ? 'averagingConstant' : 'bins';
    if (config[misplaced] !== undefined) {
      throw new QuantkitError('QK_CONFIG', `Observer '${KIND}' option '${misplaced}' is not for mode '${mode}'.`, {
        hint: "averagingConstant goes with mode 'per-batch', bins with mode 'histogram'.",
      });
    }
    if (mode === 'per-batch') {
      this.averagingConstant = checkAveragingConstant(KIND, averagingConstant ?? MSE_DEFAULT_AVERAGING_CONSTANT);
    } else {
      this.bins = bins ?? MSE_DEFAULT_BINS;
      const valid = typeof this.bins === 'number' && Number.isInteger(Math.log2(this.bins));
      if (!valid || this.bins < 256 || this.bins > 2 ** 20) {
        throw new QuantkitError('QK_CONFIG', `Observer '${KIND}' got bins ${JSON.stringify(bins)}.`, {
          hint: 'bins must be a power of two from 256 to 1048576.',
        });
      }
    }
  }

  /** Rebuilds an observer from its saved state. */
  static restore(state: ObserverState): MSEObserver {
    const { mode, bins, averagingConstant } = state;
    if (mode !== 'histogram' && mode !== 'per-batch') throw badState(KIND, `its mode is ${JSON.stringify(mode)}`);
    const config = (mode === 'histogram' ? { mode, bins } : { mode, averagingConstant }) as MSEObserverConfig;
    let observer: MSEObserver;
    try {
      observer = new MSEObserver({ dtype: state.dtype, granularity: state.granularity }, config);
    } catch (error) {
      throw badState(KIND, 'its settings are invalid', error);
    }
    observer.merge(state);
    return observer;
  }

  observe(data: Float32Array, dims: readonly number[]): void {
    const { granularity } = this.options;
    const seen = this.mode === 'histogram' ? this.histograms.length : this.clip.length;
    const layout = batchLayout(KIND, granularity, data, dims, this.hasData() ? seen : undefined);
    if (data.length === 0) return;
    const amax =
      granularity.kind === 'per-tensor'
        ? [absMaxPerTensor(data)]
        : Array.from(absMaxPerChannel(data, dims, granularity.axis));
    for (const a of amax) if (!Number.isFinite(a)) throw nonFiniteData(KIND, a);
    this.decided = undefined;
    if (this.mode === 'histogram') {
      const bins = this.bins!;
      if (this.histograms.length === 0) this.histograms = amax.map(() => new AbsHistogram(bins));
      amax.forEach((a, c) => this.histograms[c]!.cover(a));
      forEachChannelRun(layout, (c, start, end) => this.histograms[c]!.addRun(data, start, end));
      return;
    }
    const { dtype } = this.options;
    const clip = amax.map((a, c) => {
      const errors = squaredQuantizationErrors(data, layout, c, candidateScales(a, dtype), dtype);
      return bestClip(a, errors);
    });
    const constant = this.averagingConstant!;
    this.clip = this.batches === 0 ? clip : this.clip.map((r, c) => averagingStep(r, clip[c]!, constant));
    this.batches++;
  }

  /** Per tensor in histogram mode, the batch's |x| histogram (made in the graph) is all this observer needs. */
  summaryNeeds(): SummaryNeeds | undefined {
    return this.mode === 'histogram' && this.options.granularity.kind === 'per-tensor'
      ? { histogramBins: this.bins! }
      : undefined;
  }

  /**
   * Case 1 from a batch's summary: max |x| from its range, and its own histogram merged in, which leaves the same
   * state as `observe` of the batch (the histogram depends on the multiset of values alone).
   */
  observeSummary(summary: BatchSummary): void {
    const { histogram } = summary;
    if (this.summaryNeeds() === undefined || (histogram === undefined && summary.count > 0)) {
      throw new QuantkitError('QK_USAGE', `Observer '${KIND}' needs the elements or a histogram of each batch.`);
    }
    if (summary.count === 0) return;
    const amax = Math.max(-summary.min, summary.max);
    if (!Number.isFinite(amax)) throw nonFiniteData(KIND, amax);
    this.decided = undefined;
    const bins = this.bins!;
    if (this.histograms.length === 0) this.histograms = [new AbsHistogram(bins)];
    this.histograms[0]!.merge(AbsHistogram.ofBatch(bins, amax, histogram!.exponent, histogram!.counts));
  }

  state(): MSEObserverState {
    const { dtype, granularity } = this.options;
    if (this.mode === 'histogram') {
      return {
        kind: KIND,
        dtype,
        granularity: { ...granularity },
        mode: 'histogram',
        bins: this.bins!,
        histograms: this.histograms.map((h) => h.toJSON()),
      };
    }
    return {
      kind: KIND,
      dtype,
      granularity: { ...granularity },
      mode: 'per-batch',
      averagingConstant: this.averagingConstant!,
      batches: this.batches,
      clip: [...this.clip],
    };
  }

  merge(state: ObserverState): void {
    checkStateHeader(KIND, this.options, state);
    if (state.mode !== this.mode) throw badState(KIND, `its mode is ${JSON.stringify(state.mode)}, not '${this.mode}'`);
    if (this.mode === 'histogram') this.mergeHistograms(state);
    else this.mergeClips(state);
    this.decided = undefined;
  }

  qparams(): QParams {
    if (!this.hasData()) throw noData(KIND);
    const { dtype, granularity } = this.options;
    if (this.mode === 'histogram') {
      this.decided ??= Float64Array.from(this.histograms, (h) =>
        bestClip(h.amax, h.squaredErrors(candidateScales(h.amax, dtype), dtype)),
      );
    }
    const amax = Float32Array.from(this.decided ?? this.clip);
    return { dtype, granularity: { ...granularity }, amax, scale: amax.map((a) => scaleFromAmax(a, dtype)) };
  }

  private hasData(): boolean {
    return this.mode === 'histogram' ? this.histograms.length > 0 : this.batches > 0;
  }

  private mergeHistograms(state: ObserverState): void {
    if (state.bins !== this.bins) throw badState(KIND, `it has ${String(state.bins)} bins, this observer ${this.bins}`);
    const { histograms } = state;
    if (!Array.isArray(histograms)) throw badState(KIND, "'histograms' is not an array");
    const incoming = histograms.map((json) => {
      const histogram = AbsHistogram.fromJSON(json, this.bins!);
      if (typeof histogram === 'string') throw badState(KIND, histogram);
      return histogram;
    });
    this.checkChannels(incoming.length, this.histograms.length, this.histograms.length > 0);
    if (this.histograms.length === 0) this.histograms = incoming;
    else incoming.forEach((h, c) => this.histograms[c]!.merge(h));
  }

  private mergeClips(state: ObserverState): void {
    if (state.averagingConstant !== this.averagingConstant) {
      throw badState(
        KIND,
        `its averagingConstant is ${JSON.stringify(state.averagingConstant)}, not ${this.averagingConstant}`,
      );
    }
    const batches = readCount(KIND, state, 'batches');
    const clip = readNumbers(KIND, state, 'clip');
    if (clip.some((c) => c < 0)) throw badState(KIND, "'clip' holds a negative value");
    if (batches === 0) {
      if (clip.length > 0) throw badState(KIND, "'clip' has values but 'batches' is 0");
      return;
    }
    this.checkChannels(clip.length, this.clip.length, this.batches > 0);
    this.clip = mergeAverages(this.clip, this.batches, clip, batches);
    this.batches += batches;
  }

  /** An incoming state with data must have one entry per tensor, or as many channels as this one (if it has any). */
  private checkChannels(incoming: number, own: number, ownHasData: boolean): void {
    if (incoming === 0) return;
    if (this.options.granularity.kind === 'per-tensor' && incoming !== 1) {
      throw badState(KIND, `a per-tensor state holds ${incoming} entries`);
    }
    if (ownHasData && incoming !== own) throw badState(KIND, `it has ${incoming} channels, this observer ${own}`);
  }
}

function candidateScales(amax: number, dtype: QuantDtype): number[] {
  return MSE_RATIOS.map((r) => scaleFromAmax(Math.fround(amax * r), dtype));
}

/** The clip value of the candidate with the least error, the later (smaller r) one on ties. */
function bestClip(amax: number, errors: Float64Array): number {
  let best = 0;
  for (let c = 1; c < errors.length; c++) if (errors[c]! <= errors[best]!) best = c;
  return Math.fround(amax * MSE_RATIOS[best]!);
}

export const mseObserverFactory: ObserverFactory = {
  kind: KIND,
  summary: 'symmetric MSE: best of 95 clip ratios, from an all-data histogram or per batch as Horizon does',
  // config comes from JSON; the constructor checks its keys and values.
  create: (options, config) => new MSEObserver(options, config as MSEObserverConfig | undefined),
  restore: (state, config) => {
    const observer = MSEObserver.restore(state);
    if (config !== undefined) {
      const expected = new MSEObserver(observer.options, config as MSEObserverConfig);
      if (
        expected.mode !== observer.mode ||
        expected.bins !== observer.bins ||
        expected.averagingConstant !== observer.averagingConstant
      ) {
        throw new QuantkitError('QK_CONFIG', `The saved '${KIND}' state was made with other settings than these.`, {
          hint: 'Re-run calibration with the current config, or drop the options to use the saved state as is.',
        });
      }
    }
    return observer;
  },
};
