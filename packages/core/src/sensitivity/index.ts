export * from './sensitivity.js';
export * from './sensitivity-bench.js';
export * from './merge-sensitivity.js';
export { qparamsAtDtype, lookupForPlan, type QParamsAtDtype } from './qparams-at-dtype.js';
export { withPlan, copyPlan, observeEveryActivation, onlyQuantizing } from './plan-variant.js';
export * from './mixed-precision.js';
