export { canonicalizePasses, canonicalizePlugin } from './plugin.js';
export { foldAffine } from './fold-affine.js';
export { foldBatchnorm } from './fold-batchnorm.js';
export { fuseActivationPatterns } from './fuse-activation-patterns.js';
export { CANONICAL_OPSET, GELU_OPSET, raiseOpset } from './raise-opset.js';
