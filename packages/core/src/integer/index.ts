export * from './integer-ops.js';
export {
  checkEncoding,
  checkRescaleParams,
  decodeMultiplier,
  encodeMultiplier,
  encodeMultipliers,
  outputBounds,
  rescale,
  rescaleTensor,
  roundedProduct,
} from './requant.js';
export type { ClipBounds, EncodedMultiplier, OutputBounds, RescaleParams } from './requant.js';
export { interpret, type InterpretOptions } from './interpreter.js';
export { CONV_MAX_K, GEMM_MAX_K, LOWERED_OPSET, lowerToStandard } from './lower.js';
export { ORT_INTEGER_GAPS } from './ort-support.js';
export { IntegerGraphBuilder } from './integer-builder.js';
export type { DequantizeOptions, GemmLikeOptions, QuantizeOptions, RescaleOptions } from './integer-builder.js';
export { hasIntegerOps, runnableModel } from './runnable-model.js';
