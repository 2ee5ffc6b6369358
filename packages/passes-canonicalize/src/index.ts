export { canonicalizePasses, canonicalizePlugin, optInPasses } from './plugin.js';
export { constantToInitializer } from './constant-to-initializer.js';
export { eliminateIdentity } from './eliminate-identity.js';
export { equalizeCrossLayer } from './equalize-cross-layer.js';
export { foldAffine } from './fold-affine.js';
export { foldBatchnorm } from './fold-batchnorm.js';
export { foldConstants, MAX_GROWN_ELEMENTS } from './fold-constants.js';
export { fuseActivationPatterns } from './fuse-activation-patterns.js';
export { CANONICAL_OPSET, GELU_OPSET, raiseOpset } from './raise-opset.js';
