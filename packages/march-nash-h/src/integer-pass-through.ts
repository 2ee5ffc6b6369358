import { integerPassThrough, type Model, type Pass, type PassContext, type PassResult } from '@quantkit/core';
import { nashH } from './nash-h.js';

/**
 * nash-h-integer-pass-through (convert) — core's integerPassThrough for nash-h: pass-through ops (Reshape,
 * Transpose, MaxPool, Concat of equal scales, …) between a Dequantize and Quantize of one scale run on the integer
 * tensor and the pair goes (cases in core's integer-pass-through.ts). Other marches: nothing changes.
 */
export const nashHIntegerPassThrough: Pass = {
  info: {
    name: 'nash-h-integer-pass-through',
    phase: 'convert',
    march: 'nash-h',
    summary: 'pass-through ops run on integer tensors; their Dequantize / Quantize pairs go',
    after: ['nash-h-fold-rescale-into-gemm'],
  },
  run(model: Model, context: PassContext): PassResult {
    if (context.march !== nashH.name) return { model, modified: false };
    return { model, modified: integerPassThrough(model) > 0 };
  },
};
