import { convert } from '../convert/convert.js';
import type { Fallback } from '../convert/lower-qdq.js';
import type { Sample } from '../data/calibration-data.js';
import type { NpyArray } from '../data/npy.js';
import type { Model } from '../ir/model.js';
import type { March } from '../march/march.js';
import type { TensorMetrics } from '../metrics/compare-tensors.js';
import type { PrecisionReport } from '../metrics/measure-models.js';
import type { Pipeline } from '../pass/pass-manager.js';
import { inferShapesByRunning } from '../perf/infer-shapes-by-running.js';
import { perf, perfSummary, type PerfSummary } from '../perf/perf.js';
import { floatData } from '../runtime/expose-values.js';
import { createSession, releaseSession, runSession } from '../runtime/ort.js';
import {
  calibrateArtifacts,
  calibrateResult,
  measureAgainstFloat,
  type CalibrateModelOptions,
  type CalibrateModelResult,
  type CalibrateReport,
} from './calibrate-model.js';
import { layerwiseAgreement, type LayerAgreement } from './layerwise-agreement.js';
import { countWithinLsb, outputLsb } from './lsb-agreement.js';
import { reportOps, type ReportOp } from './report-ops.js';

export interface QuantizeModelOptions extends CalibrateModelOptions {
  march: March;
  /** The convert-phase passes of the loaded plugins. */
  convertPipeline: Pipeline;
  /** nash-h: int32 + Rescale as on nash-m instead of float32 outputs. */
  integerConv?: boolean;
}

export interface IntegerOutputMetrics extends TensorMetrics {
  /** Fraction of elements within one output LSB of the QDQ simulation (qat.onnx), end to end. */
  lsbAgreement: number;
  /** The same, with the last piece of the integer model fed qat.onnx's own inputs (see layerwiseAgreement). */
  lsbAgreementLayerwise: number;
}

/** report.json of `quantkit quantize`: the calibrate report plus the integer model's precision. */
export interface QuantizeReport extends CalibrateReport {
  march: string;
  integerConv: boolean;
  integer: { outputs: Record<string, IntegerOutputMetrics>; layers: LayerAgreement[] };
  fallback: string[];
  fallbackReasons: Fallback[];
  /** The cost model's estimate for the integer model (labelled as one). */
  perf: PerfSummary;
  /** Its ops in graph order, each with unit, dtypes and estimated latency (see reportOps). */
  ops: ReportOp[];
}

export interface QuantizeModelResult extends CalibrateModelResult {
  quantized: Model;
  report: QuantizeReport;
}

/** The float model's graph outputs on one sample (for the output LSBs of the layer-wise agreement). */
async function outputsOf(model: Model, feeds: ReadonlyMap<string, NpyArray>): Promise<Map<string, Float32Array>> {
  const session = await createSession(model, { graphOptimizationLevel: 'basic', name: 'the float model' });
  try {
    const names = model.graph.outputs.map((v) => v.name);
    const outputs = await runSession(session, feeds, names);
    return new Map(names.map((n) => [n, floatData(n, outputs.get(n)!.dtype, outputs.get(n)!.data as ArrayLike<number>)] as const));
  } finally {
    await releaseSession(session);
  }
}

/**
 * The seed's whole flow in one call: calibrate (see calibrateModel) → convert qat.onnx to the march's integer IR
 * → run the integer model (lowered to standard ops) beside qat.onnx, the weight-only model and the float model
 * (one session each, the float model run once per sample for all three) on every sample of the calibration data
 * or `evalData`, and measure each against the float model, and each output's agreement with the QDQ simulation in
 * output LSBs, summed over all samples. The layer-wise agreement is measured on the first sample only
 * (`measuredOn.layerwise`). Nothing is written here.
 */
export async function quantizeModel(options: QuantizeModelOptions): Promise<QuantizeModelResult> {
  const artifacts = await calibrateArtifacts(options);
  const { float, qat, weightOnly } = artifacts;
  const converted = await convert(qat.model, {
    march: options.march,
    pipeline: options.convertPipeline,
    integerConv: options.integerConv,
    name: 'qat.onnx',
  });
  const outputNames = float.graph.outputs.map((v) => v.name);
  const within = new Map(outputNames.map((n) => [n, { within: 0, elements: 0 }]));
  let first: Sample | undefined;
  const measured = await measureAgainstFloat(
    options,
    float,
    [
      { model: qat.model, name: 'qat.onnx', twins: qat.twins },
      { model: weightOnly.model, name: 'the weight-only model' },
      { model: converted.model, name: 'quantized.onnx' },
    ],
    ({ sample, reference, tests }) => {
      first ??= sample;
      for (const name of outputNames) {
        const ref = reference.get(name)!;
        const floatRef = floatData(name, ref.dtype, ref.data);
        const simulated = tests[0]!.get(name)!;
        const integer = tests[2]!.get(name)!;
        const lsb = outputLsb(converted.model, name, ref.dims, floatRef);
        const count = within.get(name)!;
        count.within += countWithinLsb(floatData(name, simulated.dtype, simulated.data), floatData(name, integer.dtype, integer.data), lsb);
        count.elements += floatRef.length;
      }
    },
  );
  const [quantized, floor, integerReport] = measured.reports as [PrecisionReport, PrecisionReport, PrecisionReport];
  // The layer-wise agreement runs a session per integer tensor: on the first sample only (measuredOn says so).
  const feeds = first!.inputs;
  const floatOutputs = await outputsOf(float, feeds);
  const lsbOf = (name: string, dims: readonly number[]) => outputLsb(converted.model, name, dims, floatOutputs.get(name)!);
  const layers = await layerwiseAgreement(qat.model, converted.model, feeds, lsbOf);
  const measuredOn = { ...measured.on, layerwise: { samples: 1, sample: first!.id } };
  const calibrated = calibrateResult(options, artifacts, quantized, floor, measuredOn);
  const outputs: Record<string, IntegerOutputMetrics> = {};
  for (const name of outputNames) {
    const { within: n, elements } = within.get(name)!;
    outputs[name] = {
      ...integerReport.outputs[name]!,
      lsbAgreement: elements === 0 ? 1 : n / elements,
      lsbAgreementLayerwise: layers.find((l) => l.tensor === name)?.lsbAgreement ?? Number.NaN,
    };
  }
  const shapes = await inferShapesByRunning(converted.model, feeds);
  const estimated = perf(converted.model, options.march, { shapes });
  const estimate = perfSummary(estimated);
  const report: QuantizeReport = {
    ...calibrated.report,
    march: options.march.name,
    integerConv: options.integerConv ?? false,
    integer: { outputs, layers },
    fallback: converted.fallback.map((f) => f.node),
    fallbackReasons: converted.fallback,
    diagnostics: [...calibrated.report.diagnostics, ...converted.diagnostics],
    perf: estimate,
    ops: reportOps(estimated),
  };
  return { ...calibrated, quantized: converted.model, report };
}
