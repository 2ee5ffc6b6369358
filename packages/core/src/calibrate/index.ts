export { calibrate, calibrationTargets } from './calibrate.js';
export type {
  CalibrateOptions,
  CalibrationData,
  CalibrationDataSpec,
  CalibrationProgress,
  CalibrationTarget,
} from './calibrate.js';
export {
  CALIB_FORMAT,
  CALIB_VERSION,
  CalibrationResult,
  mergeCalibFiles,
  mergeCalibrationResults,
  parseCalibFile,
  qparamsFor,
  readCalibFile,
  writeCalibFile,
} from './calibration-result.js';
export type { CalibFileJSON, ObserverLookup } from './calibration-result.js';
