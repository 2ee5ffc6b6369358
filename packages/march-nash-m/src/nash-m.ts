import type { March } from '@quantkit/core';
import { nashMPerf } from './perf-params.js';

/**
 * Nash-M, the BPU of Journey 6E / 6M. GEMM-like ops take int8 or int16 activations and int8 or int16 weights
 * (per output channel; int16 × int16 is Horizon's "double int16", its accumulator 2^8 coarser than the products,
 * integer-ops.ts) and emit int8, int16 or int32 — int16 weights only with an int8 / int16 output, so a GEMM with a
 * high-precision output keeps int8 weights; float32 output is not available, so a high-precision output is the int32 accumulator
 * followed by a dequantize, and a reused output feeds its other consumers through a Rescale.
 */
export const nashM: March = {
  name: 'nash-m',
  summary: 'Horizon Nash-M BPU (Journey 6E / 6M): int8/int16 in, int8/int16/int32 out',
  chips: 'Journey 6E / 6M',
  capabilities: {
    gemmInputs: ['int8', 'int16'],
    gemmWeights: ['int8', 'int16'],
    gemmOutputs: ['int8', 'int16', 'int32'],
  },
  perf: nashMPerf,
};
