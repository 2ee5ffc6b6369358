import { QuantkitError } from '../errors/quantkit-error.js';
import type { Model } from '../ir/model.js';
import type { March } from '../march/march.js';
import { perf, PERF_DISCLAIMER, type PerfOptions, type PerfReport, type PerfTotals } from './perf.js';

/** One model of a comparison and its label. */
export interface PerfVariant {
  label: string;
  model: Model;
  /** Shapes by value name for this model (they win over static inference). */
  shapes?: ReadonlyMap<string, readonly number[]>;
}

/** The labels `quantkit perf --compare` gives the two nash-h lowerings of the seed. */
export const NASH_H_VARIANTS = {
  floatOutput: 'float-output',
  integerConv: 'integer-conv',
} as const;

export interface PerfComparison {
  estimate: true;
  disclaimer: string;
  march: string;
  chip: string;
  /** The reports, in the order given; each carries its label as `variant`. */
  variants: PerfReport[];
  /** Second minus first, field by field: positive = the second costs more. */
  difference: PerfTotals;
  /** The label with the lower estimated total latency, or null when they tie. */
  faster: string | null;
  /** One sentence: which is faster by how much, and what the CPU dequantize contributes. */
  summary: string;
}

/**
 * Estimates two variants of one model on the same chip with the same numbers and compares their totals — for
 * nash-h, the default lowering (GEMMs emit float32; a reused output gets a VPU Quantize) beside `integerConv`
 * (int32 + Rescale as on nash-m, and the host dequantizes the int32 outputs), as the seed asks: "which one is
 * faster must be measured, counting the CPU-side dequantize of int32 outputs".
 */
export function perfCompare(first: PerfVariant, second: PerfVariant, march: March, options: Omit<PerfOptions, 'variant' | 'shapes'> = {}): PerfComparison {
  if (first.label === second.label) {
    throw new QuantkitError('QK_USAGE', `Both variants of the comparison are labelled '${first.label}'.`, { hint: 'Give each variant its own label.' });
  }
  const reports = [first, second].map((v) => perf(v.model, march, { ...options, variant: v.label, shapes: v.shapes })) as [PerfReport, PerfReport];
  const [a, b] = reports;
  const difference = Object.fromEntries(
    (Object.keys(a.totals) as (keyof PerfTotals)[]).map((key) => [key, b.totals[key] - a.totals[key]]),
  ) as unknown as PerfTotals;
  const faster = difference.latencyUs === 0 ? null : difference.latencyUs > 0 ? first.label : second.label;
  return { estimate: true, disclaimer: PERF_DISCLAIMER, march: march.name, chip: a.chip, variants: reports, difference, faster, summary: summaryOf(a, b, faster) };
}

function summaryOf(a: PerfReport, b: PerfReport, faster: string | null): string {
  const us = (x: number) => `${x.toFixed(2)} µs`;
  const each = (r: PerfReport) => `${r.variant}: ${us(r.totals.latencyUs)} (CPU dequantize of outputs ${us(r.totals.cpuDequantizeUs)})`;
  const verdict =
    faster === null
      ? 'the estimates tie'
      : `${faster} is estimated faster by ${us(Math.abs(b.totals.latencyUs - a.totals.latencyUs))}`;
  return `${each(a)}; ${each(b)}: ${verdict} on ${a.chip} — an estimate, to be confirmed on the board.`;
}
