import { foldRescaleIntoGemm, type Model, type Pass, type PassContext, type PassResult } from '@quantkit/core';
import { nashH } from './nash-h.js';

/**
 * nash-h-fold-rescale-into-gemm (convert) — core's foldRescaleIntoGemm for nash-h: a GEMM whose int32 accumulator
 * is only rescaled to int8 / int16 requantizes in its own output stage (cases in core's fold-rescale-into-gemm.ts).
 * Other marches: nothing changes.
 */
export const nashHFoldRescaleIntoGemm: Pass = {
  info: {
    name: 'nash-h-fold-rescale-into-gemm',
    phase: 'convert',
    march: 'nash-h',
    summary: 'GEMM-like ops requantize their int32 accumulator in the output stage (int8 / int16 out)',
    after: ['dequant-quant-to-rescale'],
  },
  run(model: Model, context: PassContext): PassResult {
    if (context.march !== nashH.name) return { model, modified: false };
    return { model, modified: foldRescaleIntoGemm(model) > 0 };
  },
};
