import { foldRescaleIntoGemm, type Model, type Pass, type PassContext, type PassResult } from '@quantkit/core';
import { nashM } from './nash-m.js';

/**
 * nash-m-fold-rescale-into-gemm (convert) — core's foldRescaleIntoGemm for nash-m: a GEMM whose int32 accumulator
 * is only rescaled to int8 / int16 requantizes in its own output stage (cases in core's fold-rescale-into-gemm.ts).
 * Other marches: nothing changes.
 */
export const nashMFoldRescaleIntoGemm: Pass = {
  info: {
    name: 'nash-m-fold-rescale-into-gemm',
    phase: 'convert',
    march: 'nash-m',
    summary: 'GEMM-like ops requantize their int32 accumulator in the output stage (int8 / int16 out)',
    after: ['dequant-quant-to-rescale'],
  },
  run(model: Model, context: PassContext): PassResult {
    if (context.march !== nashM.name) return { model, modified: false };
    return { model, modified: foldRescaleIntoGemm(model) > 0 };
  },
};
