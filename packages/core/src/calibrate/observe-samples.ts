import type { CalibrationSource } from '../data/calibration-data.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import type { Observer } from '../quant/observer.js';
import type { ValueSource } from '../runtime/expose-values.js';
import { readFloat } from '../runtime/expose-values.js';
import { runSession, type OutputTensor, type Session } from '../runtime/ort.js';

/** One observed tensor of a calibration run: where each sample's value comes from, and its observer. */
export interface ObservedTensor {
  readonly name: string;
  readonly source: ValueSource;
  readonly observer: Observer;
}

/**
 * The calibration loop, shared by the in-process run and the workers: per sample, one inference that fetches
 * every observed tensor, then each tensor to its observer. Nothing of a sample outlives its iteration, so memory
 * does not grow with the number of samples. Returns the number of samples seen.
 */
export async function observeSamples(
  session: Session,
  source: CalibrationSource,
  observed: readonly ObservedTensor[],
  fetch: readonly string[],
  onSample?: (id: string) => void,
): Promise<number> {
  let count = 0;
  const none = new Map<string, OutputTensor>();
  for await (const sample of source.samples()) {
    // When only graph inputs are observed there is nothing to run (onnxruntime refuses an empty fetch list).
    const outputs = fetch.length === 0 ? none : await runSession(session, sample.inputs, fetch);
    for (const { name, source: from, observer } of observed) {
      const { data, dims } = readFloat(name, from, outputs, sample.inputs);
      checkFinite(data, sample.id, name);
      try {
        observer.observe(data, dims);
      } catch (cause) {
        const message = cause instanceof Error ? cause.message : String(cause);
        throw new QuantkitError(
          cause instanceof QuantkitError ? cause.code : 'QK_UNKNOWN',
          `Calibration sample ${sample.id}: observing tensor '${name}' failed: ${message}`,
          { cause, subject: name, hint: cause instanceof QuantkitError ? cause.hint : undefined },
        );
      }
    }
    count++;
    onSample?.(sample.id);
  }
  return count;
}

/** Throws QK_CALIB_DATA naming the sample and the tensor when `data` holds NaN or ±Infinity. */
export function checkFinite(data: Float32Array, sample: string, tensor: string): void {
  // x - x is 0 for finite x and NaN for NaN and ±Infinity; four sums keep the loop free of branches and of one
  // long dependency chain, so the check costs about as much as reading the data once.
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const n = data.length;
  const end = n - (n % 4);
  let i = 0;
  for (; i < end; i += 4) {
    const a = data[i]!;
    const b = data[i + 1]!;
    const c = data[i + 2]!;
    const d = data[i + 3]!;
    s0 += a - a;
    s1 += b - b;
    s2 += c - c;
    s3 += d - d;
  }
  for (; i < n; i++) {
    const a = data[i]!;
    s0 += a - a;
  }
  if (s0 + s1 + s2 + s3 === 0) return;
  let first = 0;
  while (data[first]! - data[first]! === 0) first++;
  const value = data[first]!;
  const kind = Number.isNaN(value) ? 'NaN' : value > 0 ? '+Inf' : '-Inf';
  throw new QuantkitError(
    'QK_CALIB_DATA',
    `Calibration sample ${sample}: tensor '${tensor}' contains ${kind} (first at flat index ${first})`,
    {
      subject: tensor,
      hint:
        'Calibration needs finite values. Check the sample, and whether the model overflows or divides by zero ' +
        'on it (run the float model on this sample).',
    },
  );
}
