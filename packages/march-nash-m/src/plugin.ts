import { ContainerModule, MARCH, packageVersion, PASS, type Pass, type QuantkitPlugin } from '@quantkit/core';
import { nashMFoldRescaleIntoGemm } from './fold-rescale-into-gemm.js';
import { nashMIntegerPassThrough } from './integer-pass-through.js';
import { nashM } from './nash-m.js';

/** The convert-phase passes of nash-m (dequant-quant-to-rescale comes from @quantkit/passes-output-precision). */
export const nashMPasses: readonly Pass[] = [nashMFoldRescaleIntoGemm, nashMIntegerPassThrough];

export const marchNashMPlugin: QuantkitPlugin = {
  name: '@quantkit/march-nash-m',
  version: packageVersion(import.meta.url),
  module: new ContainerModule(({ bind }) => {
    bind(MARCH).toConstantValue(nashM);
    for (const pass of nashMPasses) bind(PASS).toConstantValue(pass);
  }),
};
