export { canonicalizePasses, canonicalizePlugin } from './plugin.js';
export { constantToInitializer } from './constant-to-initializer.js';
export { eliminateIdentity } from './eliminate-identity.js';
export { foldConstants, MAX_GROWN_ELEMENTS } from './fold-constants.js';
