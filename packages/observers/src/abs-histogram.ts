import { QRANGE } from '@quantkit/core';
import type { QuantDtype } from '@quantkit/core';

/** 2^-149 is the smallest float32 subnormal, so the initial range [0, 2^-149) holds exactly the zeros. */
const MIN_EXPONENT = -149;
/** 2^129 is above float32's largest finite value. */
const MAX_EXPONENT = 129;

/** The JSON form: non-empty bins only, as flat pairs [bin, count, bin, count, …] in ascending bin order. */
export interface AbsHistogramJSON {
  amax: number;
  exponent: number;
  counts: number[];
}

/**
 * A histogram of |x| for one tensor or channel, kept apart by sign because int8 and int16 saturate one level
 * further on the negative side (−128 vs 127), on a power-of-two range so that it is exactly mergeable.
 *
 * Layout: the range is [0, 2^exponent) with 2^exponent the smallest power of two above amax, split into `bins`
 * bins of width w = 2^exponent / bins. Signed bin 0 counts exact zeros (ReLU outputs are half zeros; spreading
 * them over a bin would invent error), bin +j counts positive x with |x| in ((j−1)·w, j·w], bin −j the negatives.
 * The index ceil(|x|/w) is exact: w is a power of two, so |x|/w only shifts the exponent.
 *
 * Growing: when amax reaches 2^exponent the range doubles k times and bin j moves to ceil(j / 2^k). Because the
 * coarse edges are a subset of the fine edges, this gives exactly the counts the data would have had on the
 * coarse range from the start. So the histogram is a function of the multiset of values alone: independent of
 * batch order and size, and merging two histograms (coarsen to the larger range, add) equals one run over all
 * data, bit for bit.
 *
 * Precision: amax sits in the upper half of the range, so [0, amax] spans between bins/2 and bins bins.
 * Within a bin the values are taken as uniformly spread over [(j−1)·w, min(j·w, amax)], and the quantization
 * error is integrated exactly over that interval (see `squaredErrors`); the only approximation is that
 * uniformity. Memory: (2·bins + 1) float64 counts, 64 KiB per tensor or channel at 4096 bins.
 */
export class AbsHistogram {
  readonly bins: number;
  /** max |x| seen. */
  amax = 0;
  /** The range is [0, 2^exponent); always 2^exponent > amax. */
  exponent = MIN_EXPONENT;
  /** counts[bins + signed bin]. */
  private readonly counts: Float64Array;

  constructor(bins: number) {
    this.bins = bins;
    this.counts = new Float64Array(2 * bins + 1);
  }

  /** Makes the range cover `amax` (finite, ≥ 0) and records it; call before `addRun` with data up to it. */
  cover(amax: number): void {
    if (amax <= this.amax) return;
    this.amax = amax;
    if (amax < 2 ** this.exponent) return;
    let exponent = Math.floor(Math.log2(amax)) + 1;
    while (2 ** exponent <= amax) exponent++;
    while (2 ** (exponent - 1) > amax) exponent--;
    this.coarsen(exponent);
  }

  /** Counts data[start, end); every |x| must be ≤ the amax given to `cover`. The one hot loop of MSE calibration. */
  addRun(data: Float32Array, start: number, end: number): void {
    const counts = this.counts;
    const center = this.bins;
    const inv = this.bins / 2 ** this.exponent;
    for (let i = start; i < end; i++) {
      const y = data[i]! * inv;
      // ±ceil(|y|) without a branch on the sign (mixed signs would defeat the predictor) or Math.sign (slow);
      // `| 0` keeps the index an int32, which V8 needs for its fast typed-array path.
      const j = Math.ceil(Math.abs(y)) | 0;
      counts[center + j * (+(y >= 0) - +(y < 0))]!++;
    }
  }

  /**
   * A histogram of one batch whose counts were made elsewhere (in the graph): `counts` holds the 2·bins + 1 signed
   * bins on the range [0, 2^exponent), which must be the smallest power of two above `amax`.
   */
  static ofBatch(bins: number, amax: number, exponent: number, counts: ArrayLike<number>): AbsHistogram {
    const histogram = new AbsHistogram(bins);
    histogram.amax = amax;
    histogram.exponent = exponent;
    histogram.counts.set(counts);
    return histogram;
  }

  /** Adds another histogram with the same bin count; the result equals one run over both data sets. */
  merge(other: AbsHistogram): void {
    this.cover(other.amax);
    const shift = this.exponent - other.exponent;
    for (let j = 0; j <= this.bins; j++) {
      const k = coarseBin(j, shift);
      this.counts[this.bins + k]! += other.counts[other.bins + j]!;
      if (j > 0) this.counts[this.bins - k]! += other.counts[other.bins - j]!;
    }
  }

  /**
   * For each scale: the sum over the data of (x − fakeQuantize(x))², quantizing to `dtype` with zero point 0.
   *
   * Over a bin [lo, hi] holding n values spread uniformly, the error is n·(E(hi) − E(lo))/(hi − lo) with E the
   * antiderivative of the squared error e(t) = (t − Q(t))², for t ≥ 0 and L = levels·s the last level on that
   * side (levels = qmax for positives, −qmin for negatives):
   *   t ≤ L: the error is a sawtooth of period s, each period contributing s³/12, so with k = round(t/s),
   *          u = t − k·s:  E(t) = k·s³/12 + u³/3;
   *   t > L: saturated at L, so E(t) = levels·s³/12 + (t − L)³/3.
   * Rounding ties have measure zero, so the result does not depend on the rounding mode.
   */
  squaredErrors(scales: readonly number[], dtype: QuantDtype): Float64Array {
    const { qmin, qmax } = QRANGE[dtype];
    const sides = [this.side(1, qmax), this.side(-1, -qmin)];
    const errors = new Float64Array(scales.length);
    for (let c = 0; c < scales.length; c++) {
      const s = scales[c]!;
      const inv = 1 / s;
      const period = (s * s * s) / 12;
      let total = 0;
      for (const { lo, hi, n, levels } of sides) {
        const limit = levels * s;
        const saturated = levels * period;
        let prevHi = -1;
        let prevE = 0;
        for (let b = 0; b < n.length; b++) {
          const l = lo[b]!;
          const h = hi[b]!;
          // Adjacent non-empty bins share an edge, and so its antiderivative value.
          let eLo = prevE;
          if (l !== prevHi) {
            // E is written out twice rather than called: a call returning a float64 may allocate per bin.
            const k = Math.floor(l * inv + 0.5);
            const u = l - k * s;
            const d = l - limit;
            eLo = l > limit ? saturated + (d * d * d) / 3 : k * period + (u * u * u) / 3;
          }
          const k = Math.floor(h * inv + 0.5);
          const u = h - k * s;
          const d = h - limit;
          const eHi = h > limit ? saturated + (d * d * d) / 3 : k * period + (u * u * u) / 3;
          total += (n[b]! * (eHi - eLo)) / (h - l);
          prevHi = h;
          prevE = eHi;
        }
      }
      errors[c] = total;
    }
    return errors;
  }

  /** The non-empty bins of one sign as intervals clipped to amax, skipping exact zeros (error 0 at any scale). */
  private side(sign: 1 | -1, levels: number): { lo: Float64Array; hi: Float64Array; n: Float64Array; levels: number } {
    const width = 2 ** this.exponent / this.bins;
    const lo: number[] = [];
    const hi: number[] = [];
    const n: number[] = [];
    for (let j = 1; j <= this.bins; j++) {
      const count = this.counts[this.bins + sign * j]!;
      if (count === 0) continue;
      lo.push((j - 1) * width);
      hi.push(Math.min(j * width, this.amax));
      n.push(count);
    }
    return { lo: Float64Array.from(lo), hi: Float64Array.from(hi), n: Float64Array.from(n), levels };
  }

  toJSON(): AbsHistogramJSON {
    const counts: number[] = [];
    for (let b = -this.bins; b <= this.bins; b++) {
      const count = this.counts[this.bins + b]!;
      if (count !== 0) counts.push(b, count);
    }
    return { amax: this.amax, exponent: this.exponent, counts };
  }

  /** Rebuilds a histogram from JSON; returns a description of the first inconsistency instead if there is one. */
  static fromJSON(json: unknown, bins: number): AbsHistogram | string {
    if (typeof json !== 'object' || json === null) return 'a histogram is not an object';
    const { amax, exponent, counts } = json as Record<string, unknown>;
    if (typeof amax !== 'number' || !(amax >= 0 && amax < Infinity)) return `histogram amax ${String(amax)}`;
    if (
      typeof exponent !== 'number' ||
      !Number.isInteger(exponent) ||
      exponent < MIN_EXPONENT ||
      exponent > MAX_EXPONENT ||
      !(amax < 2 ** exponent) ||
      (exponent > MIN_EXPONENT && amax < 2 ** (exponent - 1))
    ) {
      return `histogram exponent ${String(exponent)} does not fit amax ${amax}`;
    }
    if (!Array.isArray(counts) || counts.length % 2 !== 0) return 'histogram counts are not [bin, count] pairs';
    const histogram = new AbsHistogram(bins);
    histogram.amax = amax;
    histogram.exponent = exponent;
    const width = 2 ** exponent / bins;
    for (let p = 0; p < counts.length; p += 2) {
      const bin: unknown = counts[p];
      const count: unknown = counts[p + 1];
      if (typeof bin !== 'number' || !Number.isInteger(bin) || Math.abs(bin) > bins) {
        return `histogram bin ${String(bin)}`;
      }
      if (bin !== 0 && !((Math.abs(bin) - 1) * width < amax)) return `histogram bin ${bin} lies above amax ${amax}`;
      if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) {
        return `histogram count ${String(count)}`;
      }
      histogram.counts[bins + bin] = count;
    }
    return histogram;
  }

  private coarsen(exponent: number): void {
    const shift = exponent - this.exponent;
    this.exponent = exponent;
    // Ascending j: a bin only ever moves down to a position that has already been emptied or is its own.
    for (let j = 2; j <= this.bins; j++) {
      const k = coarseBin(j, shift);
      if (k === j) continue;
      this.counts[this.bins + k]! += this.counts[this.bins + j]!;
      this.counts[this.bins + j] = 0;
      this.counts[this.bins - k]! += this.counts[this.bins - j]!;
      this.counts[this.bins - j] = 0;
    }
  }
}

/** Where bin j lands when the range doubles `shift` times: ceil(j / 2^shift), exact zeros staying at 0. */
function coarseBin(j: number, shift: number): number {
  if (j === 0) return 0;
  // Shifts of 31 or more would wrap in JavaScript; any shift ≥ 30 already sends every bin (< 2^30) to bin 1.
  return ((j - 1) >> Math.min(shift, 30)) + 1;
}
