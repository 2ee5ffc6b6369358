export {
  absMaxPerChannel,
  absMaxPerTensor,
  channelLayout,
  channelLayoutOf,
  fakeQuantize,
  fakeQuantizePerChannel,
  forEachChannelRun,
  MIN_SCALE,
  minMaxPerChannel,
  minMaxPerTensor,
  quantizeValue,
  roundBpu,
  roundHalfEven,
  scaleFromAmax,
  squaredQuantizationErrors,
} from './numerics.js';
export type { ChannelLayout, Rounding, ValueRange } from './numerics.js';
export type {
  BatchSummary,
  Granularity,
  Observer,
  ObserverFactory,
  ObserverOptions,
  ObserverState,
  QParams,
  SummaryNeeds,
} from './observer.js';
export { QRANGE, scaleDivisor } from './qtypes.js';
export type { QuantDtype } from './qtypes.js';
