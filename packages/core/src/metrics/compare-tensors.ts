import { QuantkitError } from '../errors/quantkit-error.js';

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

/** Compares `test` with `reference` element by element, summing in float64. */
export function compareTensors(reference: Float32Array, test: Float32Array, name = 'tensor'): TensorMetrics {
  if (reference.length !== test.length) {
    throw new QuantkitError(
      'QK_TENSOR_DATA',
      `Cannot compare ${name}: the reference has ${reference.length} elements, the test ${test.length}`,
      { subject: name },
    );
  }
  let signal = 0;
  let noise = 0;
  let dot = 0;
  let testNorm = 0;
  let maxAbs = 0;
  let sumAbs = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i]!;
    const t = test[i]!;
    const d = r - t;
    const a = Math.abs(d);
    signal += r * r;
    noise += d * d;
    dot += r * t;
    testNorm += t * t;
    sumAbs += a;
    if (a > maxAbs || a !== a) maxAbs = a;
  }
  const n = reference.length;
  // Squares of float32 values cannot overflow float64, so a non-finite sum means a non-finite element.
  if (!Number.isFinite(signal) || !Number.isFinite(testNorm)) {
    return { sqnrDb: NaN, cosine: NaN, maxAbs, meanAbs: n === 0 ? 0 : sumAbs / n };
  }
  const sqnr = noise === 0 ? SQNR_CAP_DB : 10 * Math.log10(signal / noise);
  const cosine =
    signal === 0 && testNorm === 0 ? 1 : signal === 0 || testNorm === 0 ? 0 : dot / Math.sqrt(signal * testNorm);
  return {
    sqnrDb: Math.min(SQNR_CAP_DB, Math.max(-SQNR_CAP_DB, sqnr)),
    cosine,
    maxAbs,
    meanAbs: n === 0 ? 0 : sumAbs / n,
  };
}
