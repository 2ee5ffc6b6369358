export { checkSameInputs, compare, type CompareOptions, type CompareReport, type OutputComparison } from './compare-models.js';
export { addToSums, emptySums, mergeSums, metricsOfSums, type ErrorSums } from '../metrics/error-sums.js';
