import type { March } from '@quantkit/core';
import { nashHPerf } from './perf-params.js';

/**
 * Nash-H, the BPU of Journey 6P / 6H. GEMM-like ops take int8 or int16 activations and int8 or int16 weights, as
 * on Nash-M (int16 weights only with an int8 / int16 output: a high-precision output keeps int8 weights), and can
 * emit float32 directly, so a high-precision output
 * needs no int32 + dequantize, and a reused output feeds its other consumers through a VPU Quantize. The
 * `integerConv` option brings back the Nash-M way (int32 + Rescale).
 */
export const nashH: March = {
  name: 'nash-h',
  summary: 'Horizon Nash-H BPU (Journey 6P / 6H): int8/int16 in, int8/int16/int32/float32 out',
  chips: 'Journey 6P / 6H',
  capabilities: {
    gemmInputs: ['int8', 'int16'],
    gemmWeights: ['int8', 'int16'],
    gemmOutputs: ['int8', 'int16', 'int32', 'float32'],
  },
  perf: nashHPerf,
};
