import fs from 'node:fs';
import { calibrate, type CalibrationProgress } from '../calibrate/calibrate.js';
import { qparamsFor, type CalibrationResult } from '../calibrate/calibration-result.js';
import { canonicalize, type CanonicalizeResult, type CanonicalizeSummary } from '../canonicalize/canonicalize.js';
import type { InputShape, ResolvedInputShapes } from '../canonicalize/input-shapes.js';
import type { CalibrationSpec, Shard } from '../data/calibration-data.js';
import { inputSpecs } from '../runtime/model-io.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import type { Model } from '../ir/model.js';
import type { QuantTemplate } from '../march/template.js';
import type { LayerMetrics, PrecisionReport } from '../metrics/measure-models.js';
import { measureSamples, type MeasuredModel, type MeasureSamplesOptions, type SamplesMeasurement } from '../metrics/measure-samples.js';
import { openCalibrationSource } from '../data/calibration-data.js';
import type { TensorMetrics } from '../metrics/compare-tensors.js';
import { decodeModel } from '../onnx/decode.js';
import { attachExternalFiles } from '../onnx/files.js';
import type { PassDiagnostic } from '../pass/pass.js';
import type { Pipeline } from '../pass/pass-manager.js';
import type { Override, ReusedOutputs } from '../prepare/overrides.js';
import { prepare } from '../prepare/prepare.js';
import { templateByName } from '../prepare/templates.js';
import { exportQdq } from '../qdq/export-qdq.js';
import type { ObserverFactory } from '../quant/observer.js';
import type { ShardOrigin } from '../shard/shard-set.js';
import { calibrationFingerprint, calibrationListing, sha256 } from './fingerprint.js';
import { firstSample } from './first-sample.js';
import { withGraphOrder } from './graph-order.js';

export interface CalibrateModelOptions {
  /** The float model file (read, never written). */
  modelPath: string;
  data: CalibrationSpec;
  template?: string | QuantTemplate;
  observer: ObserverFactory;
  observerConfig?: Record<string, unknown>;
  /** Where workers import the observer factory from (a package name or file URL). */
  observerModule?: string | URL;
  reusedOutputs?: ReusedOutputs;
  overrides?: readonly Override[];
  /** The config file's text, fingerprinted into the report. */
  configText?: string;
  /** The prepare-phase passes (from the loaded plugins). */
  pipeline?: Pipeline;
  /** The canonicalize-phase passes (from the loaded plugins), run on the float model before prepare. */
  canonicalizePipeline?: Pipeline;
  /** `--input-shape` values: fixed input shapes for --random, shape inference and folding. */
  inputShapes?: readonly InputShape[];
  workers?: number;
  /** Use these observer states (a merged calib.json) instead of calibrating. */
  calibration?: CalibrationResult;
  /** The quantkit version written into the report. */
  version: string;
  /** Measure the report on these samples instead of the calibration data (`--eval DIR`). */
  evalData?: CalibrationSpec;
  onProgress?: (event: CalibrationProgress) => void;
}

export interface OutputMetrics extends TensorMetrics {
  /** The same metrics with only the weights quantized: the floor int8 weights set, whatever the activations do. */
  weightOnly: TensorMetrics;
}

/** report.json of `quantkit calibrate`. Same inputs, same bytes: no times, no absolute paths. */
export interface CalibrateReport {
  quantkit: string;
  model: { file: string; sha256: string };
  calibration: { data: string; samples: number; sha256: string; observer: string };
  config: { template: string; reusedOutputs: ReusedOutputs; sha256: string | null };
  /** The samples the figures aggregate over (older reports: the name of the one sample). */
  measuredOn: MeasuredOn;
  outputs: Record<string, OutputMetrics>;
  /** Worst first; `order` is the tensor's position along the float graph (see withGraphOrder). */
  layers: (LayerMetrics & { order: number })[];
  diagnostics: PassDiagnostic[];
  /** What the canonicalize phase did, and the input shapes the model was measured and quantized with. */
  canonicalize: CanonicalizeSummary & { inputShapes: ResolvedInputShapes; diagnostics: PassDiagnostic[] };
}

/** What report.json's figures were measured on. */
export interface MeasuredOn {
  /** The calibration data, or the `--eval` data. */
  source: 'calib' | 'eval';
  /** The data's description, e.g. `16 .npy files in calib` or `random 16 (seed 0)`. */
  data: string;
  /** Every sample of it: the figures are sums over all of them. */
  samples: number;
  /** quantize: the layer-wise agreement runs one session per integer tensor, so it is measured on one sample. */
  layerwise?: { samples: number; sample: string };
}

export interface CalibrateModelResult {
  float: Model;
  prepared: Model;
  calibration: CalibrationResult;
  qat: Model;
  report: CalibrateReport;
}

function readModel(file: string): { bytes: Buffer; model: Model } {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new QuantkitError(missing ? 'QK_FILE_NOT_FOUND' : 'QK_FILE_READ', `Cannot read ${file}: ${(cause as Error).message}.`, {
      cause,
      subject: file,
    });
  }
  const model = decodeModel(bytes, { file });
  attachExternalFiles(model, file);
  return { bytes, model };
}

/**
 * The canonicalize phase of a flow. Input shapes come from `inputShapes`; when the phase has passes, the first
 * calibration sample fixes the symbolic dims no flag fixes (folding needs static shapes).
 */
export async function canonicalizeForFlow(
  model: Model,
  options: Pick<CalibrateModelOptions, 'canonicalizePipeline' | 'inputShapes' | 'data'>,
): Promise<CanonicalizeResult> {
  const given = options.inputShapes ?? [];
  const hasPasses = (options.canonicalizePipeline?.passes.length ?? 0) > 0;
  const symbolic = inputSpecs(model).some((s) => !given.some((g) => g.name === s.name) && s.shape.some((d) => typeof d !== 'number'));
  let sample: { id: string; shapes: Map<string, number[]> } | undefined;
  if (hasPasses && symbolic && options.data.kind !== 'random') {
    const first = await firstSample(options.data, model);
    sample = { id: first.id, shapes: new Map([...first.inputs].map(([name, array]) => [name, [...array.shape]])) };
  }
  return canonicalize(model, { pipeline: options.canonicalizePipeline, inputShapes: given, sample });
}

async function loadAndPrepare(options: CalibrateModelOptions) {
  const { bytes, model: original } = readModel(options.modelPath);
  const canonical = await canonicalizeForFlow(original, options);
  const float = canonical.model;
  const template = typeof options.template === 'object' ? options.template : templateByName(options.template ?? 'int8');
  const reusedOutputs = options.reusedOutputs ?? 'rescale';
  const prepared = await prepare(float, {
    template,
    overrides: options.overrides,
    reusedOutputs,
    pipeline: options.pipeline,
  });
  return { bytes, float, canonical, template, reusedOutputs, prepared };
}

function runCalibration(prepared: Model, options: CalibrateModelOptions, shard?: Shard): Promise<CalibrationResult> {
  return calibrate(prepared, { spec: options.data, shard }, {
    observer: options.observer,
    observerConfig: options.observerConfig,
    observerModule: options.observerModule,
    workers: options.workers,
    modelName: options.modelPath,
    onProgress: options.onProgress,
  });
}

/**
 * Calibrates one shard of the data (`--shard k/n`): the observer states only, for `merge-calib` to combine with
 * the other shards' into what one run over all the data gives. The result records which shard it is and what
 * every shard of the run must share (see {@link ShardOrigin}): the quantkit version, the model's sha256, the
 * template, reused-outputs mode, overrides, config file, prepare pipeline, observer with its options, and the
 * data's listing (names and sizes, see {@link calibrationListing}).
 */
export async function calibrateShard(options: CalibrateModelOptions, shard: Shard): Promise<CalibrationResult> {
  const { bytes, template, reusedOutputs, prepared } = await loadAndPrepare(options);
  const run: ShardOrigin['run'] = {
    quantkit: options.version,
    model: `sha256 ${sha256(bytes)}`,
    template: template.name,
    reusedOutputs,
    overrides: JSON.stringify(options.overrides ?? []),
    config: options.configText === undefined ? 'none' : `sha256 ${sha256(options.configText)}`,
    pipeline: [options.canonicalizePipeline, options.pipeline].map((p) => p?.passes.map((pass) => pass.info.name).join(', ') ?? 'default').join(' | '),
    observer: options.observerConfig === undefined ? options.observer.kind : `${options.observer.kind} ${JSON.stringify(options.observerConfig)}`,
    data: calibrationListing(options.data),
  };
  const result = await runCalibration(prepared.model, options, shard);
  return result.asShard({ index: shard.index, count: shard.count, run });
}

/**
 * The `calibrate` flow: load → canonicalize → prepare → calibrate (or take given states) → export qat.onnx →
 * measure it, and the weight-only floor, against the (canonical) float model over every sample of the calibration
 * data, or of `evalData` (see measureAgainstFloat; report.json's `measuredOn` says which). Given states
 * that are one shard of several are refused (QK_SHARD): they saw only part of the data. Nothing is written here;
 * the caller writes the artifacts, so a failure anywhere leaves no partial output.
 */
export async function calibrateModel(options: CalibrateModelOptions): Promise<CalibrateModelResult> {
  const artifacts = await calibrateArtifacts(options);
  const { float, qat, weightOnly } = artifacts;
  const measured = await measureAgainstFloat(options, float, [
    { model: qat.model, name: 'qat.onnx', twins: qat.twins },
    { model: weightOnly.model, name: 'the weight-only model' },
  ]);
  const [quantized, floor] = measured.reports as [PrecisionReport, PrecisionReport];
  return calibrateResult(options, artifacts, quantized, floor, measured.on);
}

/**
 * Runs the float model once per sample of the measurement data (`evalData`, else the calibration data) and each
 * test model beside it, one session each (see measureSamples). The float model runs at 'basic' as the QDQ models:
 * onnxruntime's extended optimisations rewrite DequantizeLinear → MatMul into dynamically quantized (uint8)
 * kernels, which would measure a different model.
 */
export async function measureAgainstFloat(
  options: Pick<CalibrateModelOptions, 'data' | 'evalData' | 'modelPath'>,
  float: Model,
  tests: readonly MeasuredModel[],
  onSample?: MeasureSamplesOptions['onSample'],
): Promise<SamplesMeasurement & { on: MeasuredOn }> {
  const spec = options.evalData ?? options.data;
  const source = await openCalibrationSource(spec, inputSpecs(float));
  const measured = await measureSamples(float, tests, source, {
    graphOptimizationLevel: 'basic',
    referenceName: options.modelPath,
    onSample,
  });
  const on: MeasuredOn = { source: options.evalData ? 'eval' : 'calib', data: source.description, samples: measured.samples };
  return { ...measured, on };
}

/** Everything calibrate makes before measuring: the canonical float model, the states, qat.onnx, the weight-only model. */
export async function calibrateArtifacts(options: CalibrateModelOptions) {
  const given = options.calibration;
  if (given?.shard !== undefined && given.shard.count > 1) {
    const file = given.source ?? 'The calibration states';
    throw new QuantkitError('QK_SHARD', `${file} is calibration shard ${given.shard.index} of ${given.shard.count}: it saw only part of the data`, {
      subject: given.source,
      hint: `Merge all ${given.shard.count} shards with \`quantkit merge-calib\` and use the merged calib.json.`,
    });
  }
  const { bytes, float, canonical, template, reusedOutputs, prepared } = await loadAndPrepare(options);
  const calibration = options.calibration ?? (await runCalibration(prepared.model, options));
  const lookup = qparamsFor(calibration, options.observer, options.observerConfig);
  const qat = exportQdq(prepared.model, lookup);
  const weightOnly = exportQdq(prepared.model, lookup, { weightsOnly: true });
  return { bytes, float, canonical, template, reusedOutputs, prepared, calibration, qat, weightOnly };
}

export type CalibrateArtifacts = Awaited<ReturnType<typeof calibrateArtifacts>>;

/** calibrate's result and report.json from its artifacts and the two measurements (qat.onnx, weight-only). */
export function calibrateResult(
  options: CalibrateModelOptions,
  artifacts: CalibrateArtifacts,
  quantized: PrecisionReport,
  floor: PrecisionReport,
  measuredOn: MeasuredOn,
): CalibrateModelResult {
  const { bytes, float, canonical, template, reusedOutputs, prepared, calibration, qat } = artifacts;
  const outputs: Record<string, OutputMetrics> = {};
  for (const [name, metrics] of Object.entries(quantized.outputs)) {
    outputs[name] = { ...metrics, weightOnly: floor.outputs[name]! };
  }
  const report: CalibrateReport = {
    quantkit: options.version,
    model: { file: options.modelPath, sha256: sha256(bytes) },
    calibration: {
      data: options.data.kind === 'random' ? `random ${options.data.count} (seed ${options.data.seed ?? 0})` : options.data.path,
      samples: calibration.samples,
      sha256: calibrationFingerprint(options.data),
      observer: calibration.observer,
    },
    config: {
      template: template.name,
      reusedOutputs,
      sha256: options.configText === undefined ? null : sha256(options.configText),
    },
    measuredOn,
    outputs,
    layers: withGraphOrder(quantized.layers, float),
    diagnostics: prepared.diagnostics,
    canonicalize: { ...canonical.summary, inputShapes: canonical.inputShapes, diagnostics: canonical.diagnostics },
  };
  return { float, prepared: prepared.model, calibration, qat: qat.model, report };
}
