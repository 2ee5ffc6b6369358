import { createRequire } from 'node:module';
import { ContainerModule, PASS, type Pass, type QuantkitPlugin } from '@quantkit/core';
import { dequantQuantToRescale } from './dequant-quant-to-rescale.js';
import { highPrecisionOutput } from './high-precision-output.js';
import { reusedOutputRescale } from './reused-output-rescale.js';

// From src/ in tests and from dist/ when bundled, the package.json is one folder up.
const require = createRequire(import.meta.url);
const { name, version } = require('../package.json') as { name: string; version: string };

/** Every pass of this package: two for prepare, one for convert. */
export const outputPrecisionPasses: readonly Pass[] = [highPrecisionOutput, reusedOutputRescale, dequantQuantToRescale];

export const outputPrecisionPlugin: QuantkitPlugin = {
  name,
  version,
  module: new ContainerModule(({ bind }) => {
    for (const pass of outputPrecisionPasses) bind(PASS).toConstantValue(pass);
  }),
};
