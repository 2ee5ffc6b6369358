import type { Unit } from '../integer/integer-ops.js';
import type { OpKind, PerfReport } from '../perf/perf.js';

/** One op of the integer model as report.json lists it: what runs where, at which dtypes, for how long. */
export interface ReportOp {
  name: string;
  opType: string;
  kind: OpKind;
  unit: Unit;
  /** e.g. 'int8×int8→int32' for a GEMM, 'int32→float32' for a Dequantize. */
  dtypes: string;
  /** The cost model's estimate; null when a shape was unknown. */
  latencyUs: number | null;
}

/**
 * The per-op rows report.json keeps of a perf estimate (the precision map and the per-layer perf chart of
 * report.html read them).
 *
 * 1. One row per op, in the order of the estimate (the integer model's graph order); folded ops have none.
 * 2. Latency is rounded to a nanosecond, so that the rows stay small on large models; an op without an estimate
 *    has null.
 */
export function reportOps(report: Pick<PerfReport, 'ops'>): ReportOp[] {
  return report.ops.map((op) => ({
    name: op.name,
    opType: op.opType,
    kind: op.kind,
    unit: op.unit,
    dtypes: op.dtypes,
    latencyUs: op.estimated ? Math.round(op.latencyUs * 1000) / 1000 : null,
  }));
}
