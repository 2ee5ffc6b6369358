import type { BatchSummary } from '../quant/observer.js';
import type { OutputTensor } from '../runtime/ort.js';
import type { SummaryOutputs } from './summary-graph.js';

/** The exponent of the initial histogram range: 2^-149 is the smallest float32 subnormal. */
const ZERO_EXPONENT = -149;

function scalar(outputs: ReadonlyMap<string, OutputTensor>, name: string): number {
  const output = outputs.get(name)!;
  const value = output.data[0]!;
  // A double tensor's summary is in double; its elements reach observers as float32, and rounding is monotonic.
  return typeof value === 'bigint' ? Number(value) : output.dtype === 'float64' ? Math.fround(value) : value;
}

/**
 * One tensor's summary from a run of the model addSummaries made, or undefined when the summary cannot stand for
 * the elements and the caller must observe them instead:
 * 1. NaN in the sum, or a non-finite min / max (the elements hold NaN or ±Infinity: the error must name one);
 * 2. with a histogram: a range that is not the smallest power of two above max |x| as JavaScript computes it, a
 *    range whose bins / range float32 cannot hold exactly (max |x| below 2^-100 or above 2^100, where the graph
 *    clamps), or counts that do not add up to the element count. An all-zero batch needs no graph histogram: its
 *    histogram is every element in bin 0 on the range [0, 2^-149).
 * An empty tensor gives count 0 and no histogram.
 */
export function readSummary(
  summary: SummaryOutputs,
  outputs: ReadonlyMap<string, OutputTensor>,
  histogramBins: number | undefined,
): BatchSummary | undefined {
  const count = scalar(outputs, summary.count);
  if (count === 0) return { count, min: Infinity, max: -Infinity };
  const min = scalar(outputs, summary.min);
  const max = scalar(outputs, summary.max);
  if (Number.isNaN(scalar(outputs, summary.sum)) || !Number.isFinite(min) || !Number.isFinite(max)) return undefined;
  if (histogramBins === undefined) return { count, min, max };
  const amax = Math.max(-min, max);
  if (amax === 0) {
    // All zeros: bin 0 on the initial range [0, 2^-149), whatever the graph computed.
    const counts = new Float64Array(2 * histogramBins + 1);
    counts[histogramBins] = count;
    return { count, min, max, histogram: { exponent: ZERO_EXPONENT, counts } };
  }
  const range = scalar(outputs, summary.range!);
  const exponent = Math.log2(range);
  const shift = Math.log2(histogramBins) - exponent;
  if (!(amax > 0) || !Number.isInteger(exponent) || !(range > amax && range / 2 <= amax) || shift < -126 || shift > 127) {
    return undefined;
  }
  const raw = outputs.get(summary.counts!)!.data as BigInt64Array;
  const counts = new Float64Array(raw.length);
  let total = 0;
  for (let i = 0; i < raw.length; i++) total += counts[i] = Number(raw[i]!);
  if (total !== count) return undefined;
  return { count, min, max, histogram: { exponent, counts } };
}
