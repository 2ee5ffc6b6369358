export { convert, type ConvertOptions, type ConvertResult } from './convert.js';
export { foldRescaleIntoGemm } from './fold-rescale-into-gemm.js';
export { matchGemm, type BiasSource, type ClipFold, type GemmMatch } from './gemm-pattern.js';
export {
  clipAttributes,
  clipOf,
  dequantizeAttributes,
  floatsAttribute,
  gemmChannelAxis,
  intAttribute,
  integerDtypeName,
  integerDtypeOf,
  intsAttribute,
  isIntegerGemm,
  isQuantkitNode,
  ONNX_DTYPE,
  quantizeAttributes,
  removeIfUnused,
  replaceNode,
  rescaleAttributes,
  sameChannelAxis,
  scalesOf,
  setElemType,
  setUnit,
  stringAttribute,
  type DequantizeInit,
  type IntegerGemmOp,
  type QuantizeInit,
  type RescaleInit,
} from './integer-nodes.js';
export { integerPassThrough } from './integer-pass-through.js';
export { lowerQdq, type Fallback, type LowerQdqResult } from './lower-qdq.js';
