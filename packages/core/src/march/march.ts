import type { MarchPerf } from '../perf/perf-params.js';

/** Names of the official marches; plugins may add others. */
export type OfficialMarch = 'nash-m' | 'nash-h';

/** The integer types a march's GEMM-like units take and give, declared as data. */
export interface DtypeCapabilities {
  /** Activation input types of conv / matmul. */
  readonly gemmInputs: readonly ('int8' | 'int16')[];
  /**
   * Constant weight types of conv / matmul, per output channel. int16 weights (with int16 activations, Horizon's
   * "double int16") need a quantized int8 / int16 output: a GEMM with an int32 / float32 output takes int8 weights.
   */
  readonly gemmWeights: readonly ('int8' | 'int16')[];
  /** Output types a GEMM-like op can emit directly. */
  readonly gemmOutputs: readonly ('int8' | 'int16' | 'int32' | 'float32')[];
}

/**
 * A target backend. The march packages implement this; `convert` and `perf` are driven by it. Fields beyond
 * these are added as the convert and perf stages land.
 */
export interface March {
  readonly name: string;
  readonly summary: string;
  /** Chips this march covers, for messages (e.g. 'Journey 6E / 6M'). */
  readonly chips: string;
  readonly capabilities: DtypeCapabilities;
  /** The perf cost model's numbers per chip, with their sources (DESIGN §8); without it, perf refuses the march. */
  readonly perf?: MarchPerf;
}
