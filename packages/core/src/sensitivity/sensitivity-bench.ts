import { openCalibrationSource, type CalibrationSpec, type Sample } from '../data/calibration-data.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import type { Model } from '../ir/model.js';
import type { TensorMetrics } from '../metrics/compare-tensors.js';
import { addToSums, emptySums, mergeSums, metricsOfSums } from '../metrics/error-sums.js';
import { convert } from '../convert/convert.js';
import type { March } from '../march/march.js';
import type { Pipeline } from '../pass/pass-manager.js';
import { inferShapesByRunning } from '../perf/infer-shapes-by-running.js';
import { perf } from '../perf/perf.js';
import { floatData } from '../runtime/expose-values.js';
import { inputSpecs } from '../runtime/model-io.js';
import { createSession, releaseSession, runSession } from '../runtime/ort.js';

/**
 * How far a model's outputs are from the float model's, over all samples. The headline figures are those of the
 * worst output (the lowest SQNR); `outputs` has every output's when the model has more than one.
 */
export interface SensitivityMetrics {
  sqnrDb: number;
  cosine: number;
  /** Mean |error| over every element of every sample (Horizon's L1). */
  l1: number;
  maxAbs: number;
  outputs?: Record<string, TensorMetrics>;
}

/** The float model's outputs on every sample, held in memory, and what measuring and costing a variant needs. */
export interface SensitivityBench {
  samples: Sample[];
  outputs: string[];
  /** [sample][output] */
  references: Float32Array[][];
  /** Graph input shapes, for the cost model's static shape inference. */
  inputShapes: Map<string, number[]>;
}

/** Reads every sample and runs the float model on each once (the reference of every variant). */
export async function openBench(data: CalibrationSpec, float: Model, name: string): Promise<SensitivityBench> {
  const source = await openCalibrationSource(data, inputSpecs(float));
  const samples: Sample[] = [];
  for await (const sample of source.samples()) samples.push(sample);
  if (samples.length === 0) {
    throw new QuantkitError('QK_CALIB_DATA', `The data (${source.description}) holds no samples.`, { hint: 'Give at least one sample.' });
  }
  const outputs = float.graph.outputs.map((v) => v.name);
  const references = await runAll(float, samples, outputs, name);
  const inputShapes = new Map<string, number[]>();
  for (const [input, array] of samples[0]!.inputs) inputShapes.set(input, [...array.shape]);
  return { samples, outputs, references, inputShapes };
}

async function runAll(model: Model, samples: readonly Sample[], outputs: readonly string[], name: string): Promise<Float32Array[][]> {
  // 'basic': onnxruntime's extended optimisations would swap Q/DQ patterns for its own integer kernels.
  const session = await createSession(model, { graphOptimizationLevel: 'basic', name });
  try {
    const results: Float32Array[][] = [];
    for (const sample of samples) {
      const run = await runSession(session, sample.inputs, outputs);
      results.push(outputs.map((o) => { const t = run.get(o)!; return floatData(o, t.dtype, t.data as ArrayLike<number>); }));
    }
    return results;
  } finally {
    await releaseSession(session);
  }
}

/** Runs `model` on every sample of the bench and measures its outputs against the float model's. */
export async function measureOnBench(bench: SensitivityBench, model: Model, name: string): Promise<SensitivityMetrics> {
  const results = await runAll(model, bench.samples, bench.outputs, name);
  const sums = bench.outputs.map(() => emptySums());
  results.forEach((sample, s) =>
    sample.forEach((data, o) => {
      const reference = bench.references[s]![o]!;
      if (data.length !== reference.length) {
        throw new QuantkitError('QK_MODEL_MISMATCH', `Output '${bench.outputs[o]}' of ${name} has ${data.length} elements, the float model's ${reference.length}.`, {
          subject: bench.outputs[o],
        });
      }
      const one = emptySums();
      addToSums(one, reference, data);
      mergeSums(sums[o]!, one);
    }),
  );
  const perOutput = bench.outputs.map((o, i) => [o, metricsOfSums(sums[i]!)] as const);
  let worst = perOutput[0]![1];
  for (const [, m] of perOutput) if (m.sqnrDb < worst.sqnrDb || Number.isNaN(m.sqnrDb)) worst = m;
  const metrics: SensitivityMetrics = { sqnrDb: worst.sqnrDb, cosine: worst.cosine, l1: worst.meanAbs, maxAbs: worst.maxAbs };
  if (perOutput.length > 1) metrics.outputs = Object.fromEntries(perOutput);
  return metrics;
}

export interface LatencyContext {
  march: March;
  convertPipeline: Pipeline;
  integerConv?: boolean;
}

/**
 * The cost model's total latency (µs) of a QDQ model once converted for the march: static shapes from the bench's
 * input shapes, or one run of the integer model on the first sample when they leave an op without a shape.
 */
export async function latencyOnBench(bench: SensitivityBench, qat: Model, context: LatencyContext, name: string): Promise<number> {
  const converted = await convert(qat, { march: context.march, pipeline: context.convertPipeline, integerConv: context.integerConv, name });
  let report = perf(converted.model, context.march, { shapes: bench.inputShapes });
  if (report.unknownShapes.length > 0) {
    const shapes = await inferShapesByRunning(converted.model, bench.samples[0]!.inputs);
    report = perf(converted.model, context.march, { shapes: new Map([...bench.inputShapes, ...shapes]) });
  }
  return report.totals.latencyUs;
}
