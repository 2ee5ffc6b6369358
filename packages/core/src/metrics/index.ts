export { compareTensors, SQNR_CAP_DB } from './compare-tensors.js';
export type { TensorMetrics } from './compare-tensors.js';
export { measureModels } from './measure-models.js';
export type { LayerMetrics, MeasureOptions, PrecisionReport, TensorTwin } from './measure-models.js';
