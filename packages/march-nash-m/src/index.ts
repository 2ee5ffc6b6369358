export { nashMFoldRescaleIntoGemm } from './fold-rescale-into-gemm.js';
export { nashMIntegerPassThrough } from './integer-pass-through.js';
export { nashM } from './nash-m.js';
export { marchNashMPlugin, marchNashMPlugin as default, nashMPasses } from './plugin.js';
