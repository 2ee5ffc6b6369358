import { createRequire } from 'node:module';
import { ContainerModule, PASS, type Pass, type QuantkitPlugin } from '@quantkit/core';
import { constantToInitializer } from './constant-to-initializer.js';
import { eliminateIdentity } from './eliminate-identity.js';
import { equalizeCrossLayer } from './equalize-cross-layer.js';
import { foldAffine } from './fold-affine.js';
import { foldBatchnorm } from './fold-batchnorm.js';
import { foldConstants } from './fold-constants.js';
import { fuseActivationPatterns } from './fuse-activation-patterns.js';
import { raiseOpset } from './raise-opset.js';

// From src/ in tests and from dist/ when bundled, the package.json is one folder up.
const require = createRequire(import.meta.url);
const { name, version } = require('../package.json') as { name: string; version: string };

/** Every pass of this package, all of the canonicalize phase, in their default order. */
export const canonicalizePasses: readonly Pass[] = [
  raiseOpset,
  constantToInitializer,
  eliminateIdentity,
  foldConstants,
  foldBatchnorm,
  fuseActivationPatterns,
  foldAffine,
];

/** Passes of this package that are registered but run only when a config's pipeline edit inserts them. */
export const optInPasses: readonly Pass[] = [equalizeCrossLayer];

export const canonicalizePlugin: QuantkitPlugin = {
  name,
  version,
  module: new ContainerModule(({ bind }) => {
    for (const pass of [...canonicalizePasses, ...optInPasses]) bind(PASS).toConstantValue(pass);
  }),
};
