import type { CalibrationSource, Sample } from '../data/calibration-data.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import { runnableModel } from '../integer/runnable-model.js';
import type { Model } from '../ir/model.js';
import { exposeValues, floatData, readFloat, type ExposedModel } from '../runtime/expose-values.js';
import {
  createSession,
  releaseSession,
  runSession,
  type GraphOptimizationLevel,
  type OutputTensor,
  type Session,
} from '../runtime/ort.js';
import type { TensorMetrics } from './compare-tensors.js';
import { addToSums, emptySums, metricsOfSums, type ErrorSums } from './error-sums.js';
import type { LayerMetrics, PrecisionReport, TensorTwin } from './measure-models.js';

/** One model measured against the reference. */
export interface MeasuredModel {
  model: Model;
  /** How errors and the report name it, e.g. 'qat.onnx'. */
  name: string;
  twins?: readonly TensorTwin[];
}

/** What one sample gave: the graph outputs of the reference and of each test model, in `tests` order. */
export interface SampleOutputs {
  sample: Sample;
  reference: ReadonlyMap<string, OutputTensor>;
  tests: readonly ReadonlyMap<string, OutputTensor>[];
}

export interface MeasureSamplesOptions {
  threads?: number;
  /** One level for every session; default 'basic' (see compare's note on QDQ models). */
  graphOptimizationLevel?: GraphOptimizationLevel;
  referenceName?: string;
  /** Called once per sample after every model ran on it, e.g. for figures other than error sums. */
  onSample?: (outputs: SampleOutputs) => void;
}

export interface SamplesMeasurement {
  samples: number;
  /** Per test model, in `tests` order: its outputs and twins, aggregated over every sample. */
  reports: PrecisionReport[];
}

function bySqnr(a: LayerMetrics, b: LayerMetrics): number {
  const na = Number.isNaN(a.sqnrDb);
  const nb = Number.isNaN(b.sqnrDb);
  if (na !== nb) return na ? -1 : 1;
  if (!na && a.sqnrDb !== b.sqnrDb) return a.sqnrDb - b.sqnrDb;
  return a.tensor < b.tensor ? -1 : a.tensor > b.tensor ? 1 : 0;
}

function add(sums: ErrorSums, reference: Float32Array, test: Float32Array, what: string, sample: string): void {
  if (reference.length !== test.length) {
    throw new QuantkitError(
      'QK_TENSOR_DATA',
      `Cannot compare ${what} on sample ${sample}: the reference has ${reference.length} elements, the test ${test.length}`,
      { subject: what },
    );
  }
  addToSums(sums, reference, test);
}

/**
 * measureModels over every sample of a source, for several test models at once:
 * 1. one session per model, created once and used for every sample; the reference (float) model runs once per
 *    sample for all test models, with the float twins of every test exposed;
 * 2. per output and per twin the error sums aggregate over every element of every sample (see ErrorSums), so the
 *    metrics are those of the samples laid end to end, not averages; one sample is held at a time;
 * 3. a test model without one of the reference's outputs is QK_GRAPH_INVALID; an element count that differs on a
 *    sample is QK_TENSOR_DATA naming the tensor and the sample; no samples is QK_CALIB_DATA;
 * 4. a quantized.onnx (quantkit ops) runs through its lowering (runnableModel).
 * No model is modified.
 */
export async function measureSamples(
  reference: Model,
  tests: readonly MeasuredModel[],
  source: CalibrationSource,
  options: MeasureSamplesOptions = {},
): Promise<SamplesMeasurement> {
  const level = options.graphOptimizationLevel ?? 'basic';
  const referenceName = options.referenceName ?? 'the reference model';
  const floatNames = [...new Set(tests.flatMap((t) => (t.twins ?? []).map((twin) => twin.float)))];
  const outputNames = reference.graph.outputs.map((v) => v.name);
  for (const test of tests) {
    const names = new Set(test.model.graph.outputs.map((v) => v.name));
    const missing = outputNames.find((n) => !names.has(n));
    if (missing !== undefined) {
      throw new QuantkitError('QK_GRAPH_INVALID', `${test.name} has no output '${missing}', which ${referenceName} has`, {
        subject: missing,
        hint: 'Compare models with the same interface: quantization must keep the output names.',
      });
    }
  }
  const exposedReference = exposeValues(reference, floatNames, referenceName);
  const exposedTests: ExposedModel[] = tests.map((t) =>
    exposeValues(runnableModel(t.model), (t.twins ?? []).map((twin) => twin.quantized), t.name),
  );
  const sessions: Session[] = [];
  const open = async (model: Model, name: string) => {
    const session = await createSession(model, { threads: options.threads, graphOptimizationLevel: level, name });
    sessions.push(session);
    return session;
  };
  try {
    const referenceSession = await open(exposedReference.model, referenceName);
    const testSessions: Session[] = [];
    for (const [i, exposed] of exposedTests.entries()) testSessions.push(await open(exposed.model, tests[i]!.name));
    const outputSums = tests.map(() => new Map(outputNames.map((n) => [n, emptySums()])));
    const layerSums = tests.map((t) => (t.twins ?? []).map(() => emptySums()));
    let samples = 0;
    for await (const sample of source.samples()) {
      const ref = await runSession(referenceSession, sample.inputs, [...new Set([...outputNames, ...exposedReference.fetch])]);
      const runs: Map<string, OutputTensor>[] = [];
      for (const [i, exposed] of exposedTests.entries()) {
        const out = await runSession(testSessions[i]!, sample.inputs, [...new Set([...outputNames, ...exposed.fetch])]);
        runs.push(out);
        for (const name of outputNames) {
          const a = ref.get(name)!;
          const b = out.get(name)!;
          add(outputSums[i]!.get(name)!, floatData(name, a.dtype, a.data), floatData(name, b.dtype, b.data), `output '${name}'`, sample.id);
        }
        for (const [k, { float, quantized }] of (tests[i]!.twins ?? []).entries()) {
          const a = readFloat(float, exposedReference.sources.get(float)!, ref, sample.inputs);
          const b = readFloat(quantized, exposed.sources.get(quantized)!, out, sample.inputs);
          add(layerSums[i]![k]!, a.data, b.data, `tensor '${float}'`, sample.id);
        }
      }
      options.onSample?.({ sample, reference: ref, tests: runs });
      samples++;
    }
    if (samples === 0) {
      throw new QuantkitError('QK_CALIB_DATA', `The data (${source.description}) holds no samples.`, { hint: 'Give at least one sample.' });
    }
    const reports = tests.map((test, i) => {
      const outputs: Record<string, TensorMetrics> = {};
      for (const name of outputNames) outputs[name] = metricsOfSums(outputSums[i]!.get(name)!);
      const layers: LayerMetrics[] = (test.twins ?? []).map(({ float, quantized }, k) => ({
        tensor: float,
        float,
        quantized,
        ...metricsOfSums(layerSums[i]![k]!),
      }));
      layers.sort(bySqnr);
      return { outputs, layers };
    });
    return { samples, reports };
  } finally {
    for (const session of sessions) await releaseSession(session);
  }
}
