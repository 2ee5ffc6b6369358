import fs from 'node:fs';
import { calibrate, type CalibrationProgress } from '../calibrate/calibrate.js';
import { qparamsFor, type CalibrationResult } from '../calibrate/calibration-result.js';
import type { CalibrationSpec, Shard } from '../data/calibration-data.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import type { Model } from '../ir/model.js';
import type { QuantTemplate } from '../march/template.js';
import { measureModels, type LayerMetrics } from '../metrics/measure-models.js';
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
import { calibrationFingerprint, sha256 } from './fingerprint.js';
import { firstSample } from './first-sample.js';

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
  workers?: number;
  /** Use these observer states (a merged calib.json) instead of calibrating. */
  calibration?: CalibrationResult;
  /** The quantkit version written into the report. */
  version: string;
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
  /** Measured on the first calibration sample. */
  measuredOn: string;
  outputs: Record<string, OutputMetrics>;
  layers: LayerMetrics[];
  diagnostics: PassDiagnostic[];
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

async function loadAndPrepare(options: CalibrateModelOptions) {
  const { bytes, model: float } = readModel(options.modelPath);
  const template = typeof options.template === 'object' ? options.template : templateByName(options.template ?? 'int8');
  const reusedOutputs = options.reusedOutputs ?? 'rescale';
  const prepared = await prepare(float, {
    template,
    overrides: options.overrides,
    reusedOutputs,
    pipeline: options.pipeline,
  });
  return { bytes, float, template, reusedOutputs, prepared };
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
 * the other shards' into what one run over all the data gives.
 */
export async function calibrateShard(options: CalibrateModelOptions, shard: Shard): Promise<CalibrationResult> {
  const { prepared } = await loadAndPrepare(options);
  return runCalibration(prepared.model, options, shard);
}

/**
 * The `calibrate` flow: load → prepare → calibrate (or take given states) → export qat.onnx → measure it, and the
 * weight-only floor, against the float model on the first sample. Nothing is written here; the caller writes the
 * artifacts, so a failure anywhere leaves no partial output.
 */
export async function calibrateModel(options: CalibrateModelOptions): Promise<CalibrateModelResult> {
  const { bytes, float, template, reusedOutputs, prepared } = await loadAndPrepare(options);
  const calibration = options.calibration ?? (await runCalibration(prepared.model, options));
  const lookup = qparamsFor(calibration, options.observer, options.observerConfig);
  const qat = exportQdq(prepared.model, lookup);
  const weightOnly = exportQdq(prepared.model, lookup, { weightsOnly: true });

  const sample = await firstSample(options.data, float);
  // onnxruntime's extended optimisations rewrite DequantizeLinear → MatMul into dynamically quantized (uint8)
  // kernels, which measures a different model; 'basic' keeps the QDQ simulation exact.
  const graphOptimizationLevel = 'basic' as const;
  const measured = await measureModels(float, qat.model, sample.inputs, {
    twins: qat.twins,
    graphOptimizationLevel,
    referenceName: options.modelPath,
    testName: 'qat.onnx',
  });
  const floor = await measureModels(float, weightOnly.model, sample.inputs, {
    graphOptimizationLevel,
    referenceName: options.modelPath,
    testName: 'the weight-only model',
  });
  const outputs: Record<string, OutputMetrics> = {};
  for (const [name, metrics] of Object.entries(measured.outputs)) {
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
    measuredOn: sample.id,
    outputs,
    layers: measured.layers,
    diagnostics: prepared.diagnostics,
  };
  return { float, prepared: prepared.model, calibration, qat: qat.model, report };
}
