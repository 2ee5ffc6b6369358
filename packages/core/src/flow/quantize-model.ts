import { convert } from '../convert/convert.js';
import type { Fallback } from '../convert/lower-qdq.js';
import { lowerToStandard } from '../integer/lower.js';
import type { Model } from '../ir/model.js';
import type { March } from '../march/march.js';
import type { TensorMetrics } from '../metrics/compare-tensors.js';
import { compareTensors } from '../metrics/compare-tensors.js';
import type { Pipeline } from '../pass/pass-manager.js';
import { createSession, releaseSession, runSession, type GraphOptimizationLevel } from '../runtime/ort.js';
import { floatData } from '../runtime/expose-values.js';
import type { NpyArray } from '../data/npy.js';
import { calibrateModel, type CalibrateModelOptions, type CalibrateModelResult, type CalibrateReport } from './calibrate-model.js';
import { layerwiseAgreement, type LayerAgreement } from './layerwise-agreement.js';
import { firstSample } from './first-sample.js';
import { lsbAgreement, outputLsb } from './lsb-agreement.js';
import { inferShapesByRunning } from '../perf/infer-shapes-by-running.js';
import { perf, perfSummary, type PerfSummary } from '../perf/perf.js';
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

async function outputsOf(model: Model, feeds: ReadonlyMap<string, NpyArray>, level: GraphOptimizationLevel, name: string) {
  const session = await createSession(model, { graphOptimizationLevel: level, name });
  try {
    const names = model.graph.outputs.map((v) => v.name);
    const outputs = await runSession(session, feeds, names);
    return new Map(
      names.map((n) => {
        const out = outputs.get(n)!;
        return [n, { dims: out.dims, data: floatData(n, out.dtype, out.data as ArrayLike<number>) }] as const;
      }),
    );
  } finally {
    await releaseSession(session);
  }
}

/**
 * The seed's whole flow in one call: calibrate (see calibrateModel) → convert qat.onnx to the march's integer IR
 * → run the integer model (lowered to standard ops) on the first sample and measure it against the float model,
 * and each output's agreement with the QDQ simulation in output LSBs. Nothing is written here.
 */
export async function quantizeModel(options: QuantizeModelOptions): Promise<QuantizeModelResult> {
  const calibrated = await calibrateModel(options);
  const converted = await convert(calibrated.qat, {
    march: options.march,
    pipeline: options.convertPipeline,
    integerConv: options.integerConv,
    name: 'qat.onnx',
  });
  const feeds = (await firstSample(options.data, calibrated.float)).inputs;
  // QDQ simulation at 'basic': above it onnxruntime swaps Q/DQ patterns for its own integer kernels.
  const float = await outputsOf(calibrated.float, feeds, 'all', options.modelPath);
  const qdq = await outputsOf(calibrated.qat, feeds, 'basic', 'qat.onnx');
  const integer = await outputsOf(lowerToStandard(converted.model), feeds, 'basic', 'quantized.onnx');
  const lsbOf = (name: string, dims: readonly number[]) => outputLsb(converted.model, name, dims, float.get(name)!.data);
  const layers = await layerwiseAgreement(calibrated.qat, converted.model, feeds, lsbOf);
  const outputs: Record<string, IntegerOutputMetrics> = {};
  for (const [name, reference] of float) {
    const test = integer.get(name)!;
    outputs[name] = {
      ...compareTensors(reference.data, test.data, name),
      lsbAgreement: lsbAgreement(qdq.get(name)!.data, test.data, lsbOf(name, reference.dims)),
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
