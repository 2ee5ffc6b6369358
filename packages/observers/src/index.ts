export type { AbsHistogramJSON } from './abs-histogram.js';
export { MinMaxObserver, minMaxObserverFactory } from './min-max-observer.js';
export type { MinMaxObserverConfig, MinMaxObserverState } from './min-max-observer.js';
export {
  MSE_DEFAULT_AVERAGING_CONSTANT,
  MSE_DEFAULT_BINS,
  MSE_RATIOS,
  MSEObserver,
  mseObserverFactory,
} from './mse-observer.js';
export type {
  MSEHistogramState,
  MSEMode,
  MSEObserverConfig,
  MSEObserverState,
  MSEPerBatchState,
} from './mse-observer.js';
export { observersPlugin, observersPlugin as default } from './plugin.js';
