export { checkSample, openCalibrationSource, validateCalibrationSource } from './calibration-data.js';
export type {
  CalibrationSource,
  CalibrationSourceOptions,
  CalibrationSpec,
  InputSpec,
  Sample,
  Shard,
} from './calibration-data.js';
export { encodeNpy, NPY_DTYPES, npyItemSize, parseNpy, shapeSize } from './npy.js';
export type { NpyArray, NpyDataTypes, NpyDtype } from './npy.js';
export { encodeNpz, readNpz } from './npz.js';
export { standardNormal, Xoshiro128 } from './random.js';
export type { NormalSampler } from './random.js';
