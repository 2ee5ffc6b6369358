import { DataType } from '../../ir/dtype.js';
import type { Model } from '../../ir/model.js';
import { Tensor } from '../../ir/tensor.js';
import type { Value } from '../../ir/value.js';
import { IntegerGraphBuilder } from '../../integer/integer-builder.js';
import type { OutDtype } from '../../integer/integer-ops.js';
import type { March } from '../../march/march.js';
import { PERF_PARAM_UNITS, type ChipPerf, type ParamNotes, type PerfParams } from '../perf-params.js';

/** Round numbers, so that expected times are easy to derive in the tests. */
export const TEST_PARAMS: PerfParams = {
  bpu: {
    macsPerSecond: { int8xint8: 1e12, int16xint8: 0.5e12, int16xint16: 0.25e12 },
    float32OutputElementsPerSecond: 1e9,
    gemmEfficiency: 1,
    reductionLanes: 1,
    opOverheadSeconds: 1e-6,
  },
  vpu: {
    elementsPerSecond: { quantize: 1e9, dequantize: 1e9, rescale: 1e9, floatIsland: 0.5e9, dataMovement: 1e9 },
    opOverheadSeconds: 1e-6,
  },
  ddr: { bytesPerSecond: 1e10 },
  // Nothing stays on chip unless a test says so: every tensor crossing a layer boundary goes through DDR.
  sram: { activationBytes: 1 },
  cpu: {
    elementsPerSecond: { dequantize: 1e8, quantize: 1e8, float: 5e7 },
    macsPerSecond: 1e10,
    opOverheadSeconds: 1e-5,
  },
};

function notesFor(tree: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(tree).map(([key, unit]) => [key, typeof unit === 'string' ? { basis: 'assumption', note: `test ${key}` } : notesFor(unit as Record<string, unknown>)]),
  );
}

const NOTES = notesFor(PERF_PARAM_UNITS as unknown as Record<string, unknown>) as unknown as ParamNotes<PerfParams>;

const chip = (name: string, params: PerfParams): ChipPerf => ({ chip: name, description: `test chip ${name}`, params, notes: NOTES });

/** A march with two chips: T1 (TEST_PARAMS) and T2 (twice T1's MAC rates). */
export function testMarch(gemmOutputs: ('int8' | 'int16' | 'int32' | 'float32')[] = ['int8', 'int16', 'int32', 'float32']): March {
  const fast = structuredClone(TEST_PARAMS);
  for (const key of Object.keys(fast.bpu.macsPerSecond) as (keyof PerfParams['bpu']['macsPerSecond'])[]) fast.bpu.macsPerSecond[key] *= 2;
  return {
    name: 'test-march',
    summary: 'a march for perf tests',
    chips: 'T1 / T2',
    capabilities: { gemmInputs: ['int8', 'int16'], gemmWeights: ['int8'], gemmOutputs },
    perf: { defaultChip: 'T1', chips: [chip('T1', TEST_PARAMS), chip('T2', fast)] },
  };
}

export interface LinearModelOptions {
  /** Activation dtype of the MatMul. */
  act?: 'int8' | 'int16';
  out?: OutDtype;
  /** Dequantize the GEMM output before the graph output (for integer outputs). */
  dequantize?: boolean;
  dims?: (number | string)[];
}

/** float x [2, 100, 256] → Quantize → MatMul (int8 weight [256, 60], int32 bias) → out_dtype → (Dequantize) → y. */
export function linearModel(options: LinearModelOptions = {}): { model: Model; k: number; n: number } {
  const k = 256;
  const n = 60;
  const b = new IntegerGraphBuilder('linear');
  const x = b.input('x', DataType.FLOAT, options.dims ?? [2, 100, k]);
  const q = b.quantize(x, { scale: 0.05, dtype: options.act ?? 'int8', name: 'x_quantize' });
  const w = b.initializer('w', Tensor.fromArray(new Int8Array(k * n), [k, n]));
  const bias = b.initializer('bias', Tensor.fromArray(new Int32Array(n), [n]));
  const out = options.out ?? 'int32';
  let y: Value = b.matmul(q, w, bias, { name: 'linear', outDtype: out, xScale: 0.05, wScale: new Array<number>(n).fill(0.01) });
  if (options.dequantize) y = b.dequantize(y, { scale: new Array<number>(n).fill(0.0005), axis: 2, name: 'y_dequantize' });
  b.output(y);
  return { model: b.model(), k, n };
}
