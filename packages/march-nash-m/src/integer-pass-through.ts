import { integerPassThrough, type Model, type Pass, type PassContext, type PassResult } from '@quantkit/core';
import { nashM } from './nash-m.js';

/**
 * nash-m-integer-pass-through (convert) — core's integerPassThrough for nash-m: pass-through ops (Reshape,
 * Transpose, MaxPool, Concat of equal scales, …) between a Dequantize and Quantize of one scale run on the integer
 * tensor and the pair goes (cases in core's integer-pass-through.ts). Other marches: nothing changes.
 */
export const nashMIntegerPassThrough: Pass = {
  info: {
    name: 'nash-m-integer-pass-through',
    phase: 'convert',
    march: 'nash-m',
    summary: 'pass-through ops run on integer tensors; their Dequantize / Quantize pairs go',
    after: ['nash-m-fold-rescale-into-gemm'],
  },
  run(model: Model, context: PassContext): PassResult {
    if (context.march !== nashM.name) return { model, modified: false };
    return { model, modified: integerPassThrough(model) > 0 };
  },
};
