import { SQNR_CAP_DB, type TensorMetrics } from './compare-tensors.js';

/**
 * The running sums behind TensorMetrics, so that metrics over many samples are exact aggregates (Σ over every
 * element of every sample), not averages of per-sample figures. The formulas are compareTensors'.
 */
export interface ErrorSums {
  /** Σ ref² */
  signal: number;
  /** Σ (ref − test)² */
  noise: number;
  /** Σ ref · test */
  dot: number;
  /** Σ test² */
  testNorm: number;
  /** Σ |ref − test| */
  sumAbs: number;
  maxAbs: number;
  count: number;
}

export function emptySums(): ErrorSums {
  return { signal: 0, noise: 0, dot: 0, testNorm: 0, sumAbs: 0, maxAbs: 0, count: 0 };
}

/** Adds one pair of tensors of equal length (any numeric element type; int64 as bigint) to `sums`, in float64. */
export function addToSums(sums: ErrorSums, reference: ArrayLike<number | bigint>, test: ArrayLike<number | bigint>): void {
  let { signal, noise, dot, testNorm, sumAbs, maxAbs } = sums;
  for (let i = 0; i < reference.length; i++) {
    const r = Number(reference[i]!);
    const t = Number(test[i]!);
    const d = r - t;
    const a = Math.abs(d);
    signal += r * r;
    noise += d * d;
    dot += r * t;
    testNorm += t * t;
    sumAbs += a;
    if (a > maxAbs || a !== a) maxAbs = a;
  }
  Object.assign(sums, { signal, noise, dot, testNorm, sumAbs, maxAbs, count: sums.count + reference.length });
}

export function mergeSums(into: ErrorSums, other: ErrorSums): void {
  into.signal += other.signal;
  into.noise += other.noise;
  into.dot += other.dot;
  into.testNorm += other.testNorm;
  into.sumAbs += other.sumAbs;
  if (other.maxAbs > into.maxAbs || other.maxAbs !== other.maxAbs) into.maxAbs = other.maxAbs;
  into.count += other.count;
}

/** SQNR (capped at ±SQNR_CAP_DB; NaN for non-finite data), cosine, max and mean absolute error of the sums. */
export function metricsOfSums(sums: ErrorSums): TensorMetrics {
  const { signal, noise, dot, testNorm, maxAbs, sumAbs, count } = sums;
  const meanAbs = count === 0 ? 0 : sumAbs / count;
  if (!Number.isFinite(signal) || !Number.isFinite(testNorm)) return { sqnrDb: NaN, cosine: NaN, maxAbs, meanAbs };
  const sqnr = noise === 0 ? SQNR_CAP_DB : 10 * Math.log10(signal / noise);
  const cosine = signal === 0 && testNorm === 0 ? 1 : signal === 0 || testNorm === 0 ? 0 : dot / Math.sqrt(signal * testNorm);
  return { sqnrDb: Math.min(SQNR_CAP_DB, Math.max(-SQNR_CAP_DB, sqnr)), cosine, maxAbs, meanAbs };
}
