export { nashHFloatOutput } from './float-output.js';
export { nashHFoldRescaleIntoGemm } from './fold-rescale-into-gemm.js';
export { nashHIntegerPassThrough } from './integer-pass-through.js';
export { nashH } from './nash-h.js';
export { marchNashHPlugin, marchNashHPlugin as default, nashHPasses } from './plugin.js';
