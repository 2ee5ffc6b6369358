export { dequantQuantToRescale } from './dequant-quant-to-rescale.js';
export { highPrecisionOutput } from './high-precision-output.js';
export { outputPrecisionPasses, outputPrecisionPlugin } from './plugin.js';
export { reusedOutputRescale } from './reused-output-rescale.js';
