import type { QuantDtype } from '../quant/qtypes.js';

/** A quantization template: the dtypes to use by default (Horizon's qconfig setters). */
export interface QuantTemplate {
  readonly name: string;
  readonly summary: string;
  readonly activation: Extract<QuantDtype, 'qint8' | 'qint16'>;
  /**
   * The weight type of GEMMs whose output is quantized; a GEMM with a high-precision output keeps qint8 weights
   * whatever the template says.
   */
  readonly weight: 'qint8' | 'qint16';
  /** Keep GEMM-like outputs that feed graph outputs at high precision (int32 / float32). */
  readonly highPrecisionOutput: boolean;
}
