export { cloneMapped, type MappedClone } from './clone-mapped.js';
export { constantSource, type ConstantSource } from './constant-source.js';
export {
  exportQdq,
  QDQ_MIN_INT8_OPSET,
  QDQ_OPSET,
  type ExportQdqOptions,
  type ExportQdqResult,
  type QdqTwin,
  type QParamsLookup,
} from './export-qdq.js';
export {
  assertSymmetricQdq,
  dequantizedValue,
  findQdqPairs,
  isDequantizeLinear,
  isQuantizeLinear,
  readQdqParams,
  type DequantizedValue,
  type QdqPair,
  type QdqParams,
  type ReadQdqOptions,
} from './read-qdq.js';
export { MIN_UPGRADABLE_OPSET, upgradeOpset, type UpgradeResult } from './upgrade-opset.js';
