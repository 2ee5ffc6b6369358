import { ContainerModule, MARCH, packageVersion, PASS, type Pass, type QuantkitPlugin } from '@quantkit/core';
import { nashHFloatOutput } from './float-output.js';
import { nashHFoldRescaleIntoGemm } from './fold-rescale-into-gemm.js';
import { nashHIntegerPassThrough } from './integer-pass-through.js';
import { nashH } from './nash-h.js';

/** The convert-phase passes of nash-h (dequant-quant-to-rescale comes from @quantkit/passes-output-precision). */
export const nashHPasses: readonly Pass[] = [nashHFloatOutput, nashHFoldRescaleIntoGemm, nashHIntegerPassThrough];

export const marchNashHPlugin: QuantkitPlugin = {
  name: '@quantkit/march-nash-h',
  version: packageVersion(import.meta.url),
  module: new ContainerModule(({ bind }) => {
    bind(MARCH).toConstantValue(nashH);
    for (const pass of nashHPasses) bind(PASS).toConstantValue(pass);
  }),
};
