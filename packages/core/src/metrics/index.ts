export { compareTensors, SQNR_CAP_DB } from './compare-tensors.js';
export type { TensorMetrics } from './compare-tensors.js';
export { measureModels } from './measure-models.js';
export type { LayerMetrics, MeasureOptions, PrecisionReport, TensorTwin } from './measure-models.js';
export { measureSamples } from './measure-samples.js';
export type { MeasuredModel, MeasureSamplesOptions, SampleOutputs, SamplesMeasurement } from './measure-samples.js';
