export * from './calibrate-model.js';
export * from './fingerprint.js';
export * from './lsb-agreement.js';
export * from './quantize-model.js';
export * from './perf-model.js';
export * from './layerwise-agreement.js';
export * from './graph-order.js';
export * from './report-ops.js';
