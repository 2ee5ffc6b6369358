import type { QuantDtype } from './qtypes.js';

/** Per tensor, or per channel along `axis` of the observed tensor. */
export type Granularity = { kind: 'per-tensor' } | { kind: 'per-channel'; axis: number };

export interface ObserverOptions {
  dtype: QuantDtype;
  granularity: Granularity;
}

/** A JSON-serialisable observer state. `kind` names the observer that wrote it. */
export interface ObserverState {
  kind: string;
  dtype: QuantDtype;
  granularity: Granularity;
  [key: string]: unknown;
}

/** Symmetric quantization parameters: one scale per tensor or per channel, zero point 0. */
export interface QParams {
  dtype: QuantDtype;
  granularity: Granularity;
  scale: Float32Array;
  /** amax the scale was derived from, per tensor or per channel. */
  amax: Float32Array;
}

/**
 * A batch summarised where the data is (inside onnxruntime), for observers that need no more of it than this: its
 * element count, smallest and largest element, and — when the observer asked for one — its |x| histogram.
 */
export interface BatchSummary {
  count: number;
  min: number;
  max: number;
  /**
   * The |x| histogram on the batch's own range [0, 2^exponent), 2^exponent the smallest power of two above
   * max |x|: counts[bins + j] counts the elements with |x| in ((j−1)·w, j·w] of sign(j), w = 2^exponent / bins, and
   * counts[bins] the exact zeros.
   */
  histogram?: { exponent: number; counts: Float64Array };
}

/** What an observer needs of a batch when a summary is enough: the range, and the |x| histogram with `histogramBins`. */
export interface SummaryNeeds {
  histogramBins?: number;
}

/**
 * An observer watches the values a tensor takes during calibration and turns them into quantization parameters.
 * Observers are pure data machines: `observe` takes one batch (a float32 array with its dims), `state` returns a
 * JSON-serialisable snapshot, `merge` folds another observer's state of the same kind in (for sharded
 * calibration), and `qparams` derives the scales.
 */
export interface Observer {
  readonly kind: string;
  readonly options: ObserverOptions;
  observe(data: Float32Array, dims: readonly number[]): void;
  /**
   * Optional, with `observeSummary`: what a {@link BatchSummary} must hold for this observer, or undefined when it
   * needs the elements. Observing a batch's summary must leave the same state as observing the batch.
   */
  summaryNeeds?(): SummaryNeeds | undefined;
  observeSummary?(summary: BatchSummary): void;
  state(): ObserverState;
  merge(state: ObserverState): void;
  qparams(): QParams;
}

/** Creates observers of one kind; registered in the container under the OBSERVER token. */
export interface ObserverFactory {
  readonly kind: string;
  readonly summary: string;
  create(options: ObserverOptions, config?: Record<string, unknown>): Observer;
  /** Rebuilds an observer from a saved state (calib.json). */
  restore(state: ObserverState, config?: Record<string, unknown>): Observer;
}
