export { exposeValues, floatData, readFloat } from './expose-values.js';
export type { ExposedModel, FloatTensor, ValueSource } from './expose-values.js';
export { inputSpecs, npyDtypeOf } from './model-io.js';
export {
  createSession,
  fromOrtTensor,
  loadOrt,
  releaseSession,
  runSession,
  runtimeError,
  toNpyArray,
  toOrtTensor,
} from './ort.js';
export type { GraphOptimizationLevel, Ort, OutputTensor, Session, SessionOptions } from './ort.js';
