import { openCalibrationSource, type CalibrationSource, type CalibrationSpec, type InputSpec } from '../data/calibration-data.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import { runnableModel } from '../integer/runnable-model.js';
import { Model } from '../ir/model.js';
import type { TensorMetrics } from '../metrics/compare-tensors.js';
import { decodeModel } from '../onnx/decode.js';
import { inputSpecs } from '../runtime/model-io.js';
import { createSession, releaseSession, runSession, type GraphOptimizationLevel } from '../runtime/ort.js';
import { addToSums, emptySums, mergeSums, metricsOfSums, type ErrorSums } from '../metrics/error-sums.js';
import { addTop1, top1Counts, type Top1Counts } from './top1-agreement.js';

export interface CompareOptions {
  /** How messages and the report name the two models (file names); default 'model A' / 'model B'. */
  names?: { reference?: string; test?: string };
  /** intra-op threads per session; default every core. */
  threads?: number;
  /**
   * Default 'basic': onnxruntime's extended optimisations rewrite DequantizeLinear → MatMul into dynamically
   * quantized kernels, which would measure a different model than a QDQ file describes.
   */
  graphOptimizationLevel?: GraphOptimizationLevel;
  onProgress?: (event: { done: number; total: number; sample: string }) => void;
}

export interface OutputComparison extends TensorMetrics {
  /** The sample on which this output's own SQNR is lowest (NaN, from non-finite data, counts as lowest). */
  worst: { sample: string; sqnrDb: number };
  /**
   * For a classifier's output ([rows, classes] on every sample): the rows on which both models pick the same
   * class, over all samples (top1-agreement.ts). Absent for any other output.
   */
  top1?: Top1Counts;
}

export interface CompareReport {
  reference: string;
  test: string;
  /** The data's description, e.g. `4 .npy files in calib/seed` or `random 8 (seed 0)`. */
  data: string;
  samples: number;
  /**
   * Per output both models have, in the reference's order, over all samples: SQNR = 10·log10(Σ ref² / Σ err²)
   * and cosine with sums over every element of every sample, max |err| over all, mean |err| over all elements.
   */
  outputs: Record<string, OutputComparison>;
  /** Outputs only one of the models has; they are not compared. */
  unmatched: { reference: string[]; test: string[] };
}

function isSource(data: CalibrationSpec | CalibrationSource): data is CalibrationSource {
  return typeof (data as Partial<CalibrationSource>).samples === 'function';
}

function describeShape(spec: InputSpec): string {
  return `${spec.dtype}[${spec.shape.map((d) => d ?? '?').join(', ')}]`;
}

/**
 * Both models must take the same inputs: the same names, element types and ranks, and equal fixed dims
 * (a symbolic or unknown dim matches anything). Otherwise QK_MODEL_MISMATCH naming the input.
 */
export function checkSameInputs(reference: Model, test: Model, names: { reference: string; test: string }): void {
  const a = inputSpecs(reference);
  const b = new Map(inputSpecs(test).map((spec) => [spec.name, spec]));
  const fail = (message: string, subject?: string): never => {
    throw new QuantkitError('QK_MODEL_MISMATCH', `${names.reference} and ${names.test} do not take the same inputs: ${message}`, {
      subject,
      hint: 'compare runs both models on the same samples, so they need the same input names, types and shapes.',
    });
  };
  for (const spec of a) {
    const other = b.get(spec.name);
    if (!other) fail(`${names.test} has no input '${spec.name}' (its inputs: ${[...b.keys()].join(', ') || 'none'}).`, spec.name);
    const fixedDiffer = spec.shape.some((d, i) => typeof d === 'number' && typeof other!.shape[i] === 'number' && d !== other!.shape[i]);
    if (spec.dtype !== other!.dtype || spec.shape.length !== other!.shape.length || fixedDiffer) {
      fail(`input '${spec.name}' is ${describeShape(spec)} in ${names.reference} but ${describeShape(other!)} in ${names.test}.`, spec.name);
    }
    b.delete(spec.name);
  }
  if (b.size > 0) fail(`${names.reference} has no input '${[...b.keys()][0]}', which ${names.test} takes.`, [...b.keys()][0]);
}

/**
 * `quantkit compare`: runs two models with the same inputs (a float model and its qat.onnx or quantized.onnx, two
 * calibrations of one model, …) on every sample and measures each output the two share, `test` against
 * `reference`.
 * 1. Inputs must match (checkSameInputs); outputs are paired by name, and at least one must be shared.
 * 2. The metrics aggregate over all samples (see CompareReport.outputs); `worst` names the weakest sample.
 * 3. One session per model, created once; samples are streamed, one in memory at a time.
 * 4. An output whose element count differs between the models on a sample is QK_MODEL_MISMATCH naming both.
 * 5. A quantized.onnx (quantkit integer ops) runs through lowerToStandard, the lowering report.json measures
 *    (runnableModel); any other model runs as it is.
 * 6. An output of shape [rows, classes] on every sample also gets its top-1 agreement (`top1`).
 * Neither model is modified.
 */
export async function compare(
  reference: Model | Uint8Array,
  test: Model | Uint8Array,
  data: CalibrationSpec | CalibrationSource,
  options: CompareOptions = {},
): Promise<CompareReport> {
  const names = { reference: options.names?.reference ?? 'model A', test: options.names?.test ?? 'model B' };
  const a = reference instanceof Model ? reference : decodeModel(reference, { file: names.reference });
  const b = test instanceof Model ? test : decodeModel(test, { file: names.test });
  checkSameInputs(a, b, names);

  const outputsA = a.graph.outputs.map((v) => v.name);
  const outputsB = new Set(b.graph.outputs.map((v) => v.name));
  const shared = outputsA.filter((name) => outputsB.has(name));
  if (shared.length === 0) {
    throw new QuantkitError('QK_MODEL_MISMATCH', `${names.reference} and ${names.test} have no output name in common (${outputsA.join(', ')} against ${[...outputsB].join(', ')}).`, {
      hint: 'Outputs are paired by name; quantization keeps the names, so compare a model with its own quantized versions.',
    });
  }
  const source = isSource(data) ? data : await openCalibrationSource(data, inputSpecs(a));
  const level = options.graphOptimizationLevel ?? 'basic';
  const sessionA = await createSession(runnableModel(a), { threads: options.threads, graphOptimizationLevel: level, name: names.reference });
  try {
    const sessionB = await createSession(runnableModel(b), { threads: options.threads, graphOptimizationLevel: level, name: names.test });
    try {
      const totals = new Map(shared.map((name) => [name, emptySums()]));
      const worst = new Map<string, { sample: string; sqnrDb: number }>();
      const top1 = new Map<string, Top1Counts | undefined | null>(shared.map((name) => [name, null]));
      let samples = 0;
      for await (const sample of source.samples()) {
        const runA = await runSession(sessionA, sample.inputs, shared);
        const runB = await runSession(sessionB, sample.inputs, shared);
        for (const name of shared) {
          const x = runA.get(name)!;
          const y = runB.get(name)!;
          if (x.data.length !== y.data.length) {
            throw new QuantkitError('QK_MODEL_MISMATCH', `Output '${name}' has ${x.data.length} elements in ${names.reference} but ${y.data.length} in ${names.test} on sample ${sample.id}.`, {
              subject: name,
            });
          }
          const sums: ErrorSums = emptySums();
          addToSums(sums, x.data, y.data);
          mergeSums(totals.get(name)!, sums);
          top1.set(name, addTop1(top1.get(name), top1Counts(x, y)));
          const sqnrDb = metricsOfSums(sums).sqnrDb;
          const previous = worst.get(name);
          if (!previous || (!Number.isNaN(previous.sqnrDb) && (Number.isNaN(sqnrDb) || sqnrDb < previous.sqnrDb))) {
            worst.set(name, { sample: sample.id, sqnrDb });
          }
        }
        samples++;
        options.onProgress?.({ done: samples, total: source.count, sample: sample.id });
      }
      if (samples === 0) {
        throw new QuantkitError('QK_CALIB_DATA', `The data (${source.description}) holds no samples.`, { hint: 'Give at least one sample.' });
      }
      const outputs: Record<string, OutputComparison> = {};
      for (const name of shared) {
        const counts = top1.get(name);
        outputs[name] = { ...metricsOfSums(totals.get(name)!), worst: worst.get(name)!, ...(counts ? { top1: counts } : {}) };
      }
      return {
        reference: names.reference,
        test: names.test,
        data: source.description,
        samples,
        outputs,
        unmatched: { reference: outputsA.filter((n) => !outputsB.has(n)), test: [...outputsB].filter((n) => !outputsA.includes(n)) },
      };
    } finally {
      await releaseSession(sessionB);
    }
  } finally {
    await releaseSession(sessionA);
  }
}
