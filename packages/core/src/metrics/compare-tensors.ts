import { QuantkitError } from '../errors/quantkit-error.js';
import { addToSums, emptySums, metricsOfSums } from './error-sums.js';

/** How far a tensor is from its reference. */
export interface TensorMetrics {
  /**
   * Signal-to-quantization-noise ratio in dB, 10·log10(Σref² / Σ(ref − test)²), clamped to ±{@link SQNR_CAP_DB}
   * so that it is always a finite JSON number: +cap means identical, −cap a zero reference against a non-zero
   * test. NaN (JSON null) when either tensor holds NaN or ±Infinity, as is `cosine`.
   */
  sqnrDb: number;
  /** Cosine similarity; 1 when both tensors are zero, 0 when only one is. */
  cosine: number;
  /** max |ref − test|. */
  maxAbs: number;
  /** mean |ref − test|. */
  meanAbs: number;
}

/**
 * The SQNR reported for identical tensors. float32 rounding alone keeps a real comparison below about 150 dB, so
 * 200 dB can only mean "no error at all".
 */
export const SQNR_CAP_DB = 200;

/** Compares `test` with `reference` element by element, summing in float64 (see ErrorSums). */
export function compareTensors(reference: Float32Array, test: Float32Array, name = 'tensor'): TensorMetrics {
  if (reference.length !== test.length) {
    throw new QuantkitError(
      'QK_TENSOR_DATA',
      `Cannot compare ${name}: the reference has ${reference.length} elements, the test ${test.length}`,
      { subject: name },
    );
  }
  const sums = emptySums();
  addToSums(sums, reference, test);
  return metricsOfSums(sums);
}
