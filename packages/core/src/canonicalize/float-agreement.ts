import { openCalibrationSource, type CalibrationSpec } from '../data/calibration-data.js';
import type { Model } from '../ir/model.js';
import { floatData } from '../runtime/expose-values.js';
import { inputSpecs } from '../runtime/model-io.js';
import { createSession, releaseSession, runSession } from '../runtime/ort.js';

/** How far one output of the canonical model strays from the original's, over all samples. */
export interface OutputAgreement {
  /** max |original − canonical| over every element of every sample. */
  maxAbs: number;
  /** max |original| over the same elements: the scale `relative` is taken against. */
  maxRef: number;
  /** maxAbs / maxRef (0 when both are 0). */
  relative: number;
}

/**
 * Runs the original and the canonical model in onnxruntime on every sample of `data` (checked against the
 * canonical model's inputs, whose shapes canonicalize may have fixed) and measures, per graph output, the largest
 * difference relative to the largest output magnitude: the check that canonicalize kept the float function.
 */
export async function floatAgreement(original: Model, canonical: Model, data: CalibrationSpec): Promise<Record<string, OutputAgreement>> {
  const names = original.graph.outputs.map((v) => v.name);
  const source = await openCalibrationSource(data, inputSpecs(canonical));
  const sessions = [
    await createSession(original, { graphOptimizationLevel: 'basic', name: 'the original model' }),
    await createSession(canonical, { graphOptimizationLevel: 'basic', name: 'the canonical model' }),
  ] as const;
  const result: Record<string, OutputAgreement> = Object.fromEntries(names.map((n) => [n, { maxAbs: 0, maxRef: 0, relative: 0 }]));
  try {
    for await (const sample of source.samples()) {
      const a = await runSession(sessions[0], sample.inputs, names);
      const b = await runSession(sessions[1], sample.inputs, names);
      for (const name of names) {
        const x = a.get(name)!;
        const y = b.get(name)!;
        const ref = floatData(name, x.dtype, x.data as ArrayLike<number>);
        const test = floatData(name, y.dtype, y.data as ArrayLike<number>);
        const entry = result[name]!;
        if (ref.length !== test.length) {
          entry.maxAbs = Number.POSITIVE_INFINITY;
          continue;
        }
        for (let i = 0; i < ref.length; i++) {
          const d = Math.abs(ref[i]! - test[i]!);
          // NaN in either counts as a mismatch unless both are NaN.
          if (d > entry.maxAbs || (Number.isNaN(d) && !(Number.isNaN(ref[i]!) && Number.isNaN(test[i]!)))) entry.maxAbs = Number.isNaN(d) ? Infinity : d;
          entry.maxRef = Math.max(entry.maxRef, Math.abs(ref[i]!));
        }
      }
    }
  } finally {
    await Promise.all(sessions.map((s) => releaseSession(s)));
  }
  for (const entry of Object.values(result)) {
    entry.relative = entry.maxAbs === 0 ? 0 : entry.maxRef === 0 ? Number.POSITIVE_INFINITY : entry.maxAbs / entry.maxRef;
  }
  return result;
}
