import { describe, expect, it } from 'vitest';
import type { OpEstimate } from '../perf/perf.js';
import { reportOps } from './report-ops.js';

function op(name: string, latencyUs: number, estimated = true): OpEstimate {
  return {
    name,
    opType: 'Conv',
    kind: 'gemm',
    unit: 'bpu',
    dtypes: 'int8×int8→int8',
    outputShape: [1, 8, 4, 4],
    estimated,
    macs: 100,
    ddrBytes: 10,
    bytes: { inputs: 4, weights: 4, outputs: 2 },
    computeUs: latencyUs,
    memoryUs: 0,
    overheadUs: 0,
    latencyUs,
    bound: 'compute',
  };
}

describe('reportOps', () => {
  it('case 1: one row per op, in order, with name, op type, kind, unit and dtypes', () => {
    const rows = reportOps({ ops: [op('b', 1), op('a', 2)] });
    expect(rows.map((r) => r.name)).toEqual(['b', 'a']);
    expect(rows[0]).toEqual({ name: 'b', opType: 'Conv', kind: 'gemm', unit: 'bpu', dtypes: 'int8×int8→int8', latencyUs: 1 });
  });

  it('case 2: latency rounded to a nanosecond, null without an estimate', () => {
    const rows = reportOps({ ops: [op('a', 1.23456789), op('b', 0, false)] });
    expect(rows.map((r) => r.latencyUs)).toEqual([1.235, null]);
  });
});
