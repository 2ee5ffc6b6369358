export { NASH_H_VARIANTS, perfCompare, type PerfComparison, type PerfVariant } from './compare.js';
export { inferShapes, type Shape } from './infer-shapes.js';
export { inferShapesByRunning } from './infer-shapes-by-running.js';
export {
  PERF_PARAM_UNITS,
  paramRows,
  type ChipPerf,
  type DeepPartial,
  type MarchPerf,
  type ParamNote,
  type ParamNotes,
  type ParamRow,
  type ParamUnit,
  type PerfParams,
  type UnitTree,
} from './perf-params.js';
export {
  macsOf,
  perf,
  PERF_DISCLAIMER,
  perfSummary,
  type OpEstimate,
  type OpKind,
  type OutputEstimate,
  type PerfOptions,
  type PerfReport,
  type PerfSummary,
  type PerfTotals,
} from './perf.js';
export { chipPerf, mergePerfParams, parsePerfConfig, resolvePerfParams, type PerfConfig, type ResolvedParams } from './resolve-params.js';
export { bytesPerElement, valueTypes } from './value-types.js';
export { NASH_FIT, nashChipPerf, type NashChipFacts } from './nash-chip.js';
