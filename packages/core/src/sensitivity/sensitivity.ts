import fs from 'node:fs';
import path from 'node:path';
import { calibrate, type CalibrationProgress } from '../calibrate/calibrate.js';
import type { CalibrationResult } from '../calibrate/calibration-result.js';
import type { Shard } from '../data/calibration-data.js';
import { isQuantkitError, QuantkitError } from '../errors/quantkit-error.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { QuantTemplate } from '../march/template.js';
import { loadModel } from '../onnx/files.js';
import { canonicalizeForFlow } from '../flow/calibrate-model.js';
import type { QuantizeModelOptions } from '../flow/quantize-model.js';
import { calibrationFingerprint, sha256 } from '../flow/fingerprint.js';
import { globToRegExp, type Override } from '../prepare/overrides.js';
import { prepare, type PrepareOptions } from '../prepare/prepare.js';
import { groupProducing, quantPlanOf, type ActivationQuant, type GemmGroup } from '../prepare/quant-plan.js';
import { templateByName } from '../prepare/templates.js';
import { exportQdq } from '../qdq/export-qdq.js';
import { constantSource } from '../qdq/constant-source.js';
import type { ShardOrigin } from '../shard/shard-set.js';
import { observeEveryActivation, onlyQuantizing } from './plan-variant.js';
import { lookupForPlan, qparamsAtDtype, type QParamsAtDtype } from './qparams-at-dtype.js';
import { latencyOnBench, measureOnBench, openBench, type SensitivityBench, type SensitivityMetrics } from './sensitivity-bench.js';

export const SENSITIVITY_FORMAT = 'quantkit-sensitivity';
export const SENSITIVITY_VERSION = 1;

/** Horizon's `sensitive_type`: an op's output activation, or its weight. */
export type SensitiveType = 'activation' | 'weight';

/** An override that raises one candidate (`weight` for GEMM weights: a march with int16 weights reads it). */
export type RaiseOverride = { node: string; dtype: 'qint16' } | { node: string; weight: 'qint16' };

export interface RaisedMetrics extends SensitivityMetrics {
  /** SQNR of the fully quantized model with this candidate raised, minus the fully quantized model's (dB). */
  gainDb: number;
  /** The cost model's latency with the override minus without it (µs, an estimate). */
  latencyUs: number;
  /** The config override that raises it (what `--precision auto` writes). */
  override: RaiseOverride;
}

/** One row of the table (Horizon's QuantAnalysis sensitivity: op name, sensitive type, op type, metrics). */
export interface SensitivityRow {
  /** op_name: the node (the GEMM of a fused group); '' for a graph input. */
  op: string;
  /** op_type: the op, or a fused group's ops joined by '+' (Conv+Relu). */
  opType: string;
  sensitiveType: SensitiveType;
  /** The quantized tensor: the activation, or the weight initializer. */
  tensor: string;
  /** Its dtype in the fully quantized model. */
  dtype: 'qint8' | 'qint16';
  /** (a) Only this tensor quantized, everything else float, against the float model. */
  alone: SensitivityMetrics;
  /** (b) The fully quantized model with only this tensor raised to int16; null when it cannot be (see `int16Unavailable`). */
  int16: RaisedMetrics | null;
  int16Unavailable?: string;
}

/**
 * sensitivity.json. Same inputs, same bytes: no times, and files by their base names (the shards of a cluster mount
 * the same files at different paths); the sha256 fields identify them.
 */
export interface SensitivityReport {
  format: typeof SENSITIVITY_FORMAT;
  version: typeof SENSITIVITY_VERSION;
  quantkit: string;
  model: { file: string; sha256: string };
  calibration: { data: string; samples: number; sha256: string; observer: string };
  config: { template: string; reusedOutputs: string; march: string; integerConv: boolean; overrides: Override[]; sha256: string | null };
  /** What every metric is measured on, and how rows are sorted. */
  metric: string;
  /** The fully quantized model (the template with the config's overrides). */
  quantized: SensitivityMetrics & { latencyUs: number };
  /** Candidates of the whole analysis (all shards). */
  candidates: number;
  /** Only in one shard's file (`--shard`): which shard, of which run; merge-sensitivity checks it. */
  shard?: ShardOrigin;
  rows: SensitivityRow[];
}

export interface SensitivityProgress {
  done: number;
  total: number;
  tensor: string;
}

export interface SensitivityOptions extends Omit<QuantizeModelOptions, 'onProgress' | 'calibration'> {
  /** Measure only this slice of the candidates (candidate i belongs to shard i mod count). */
  shard?: Shard;
  onCalibration?: (event: CalibrationProgress) => void;
  onProgress?: (event: SensitivityProgress) => void;
}

interface Candidate {
  sensitiveType: SensitiveType;
  tensor: string;
  node: Node | undefined;
  opType: string;
  dtype: 'qint8' | 'qint16';
  quant?: ActivationQuant;
  group?: GemmGroup;
}

const METRIC =
  'Output of the model against the float model, summed over every element of every sample (SQNR = 10·log10(Σ ref² / Σ err²)); ' +
  'with several outputs, the figures of the worst one. Rows: most sensitive (lowest SQNR with only that tensor quantized) first.';

/** What every variant of one analysis shares: the canonical float model, its prepared plan, one calibration, the samples. */
export interface SensitivityBenchContext {
  bytes: Buffer;
  float: Model;
  base: Awaited<ReturnType<typeof prepare>>;
  template: QuantTemplate;
  reusedOutputs: 'rescale' | 'quantize';
  overrides: Override[];
  prepareOptions: PrepareOptions;
  calibration: CalibrationResult;
  paramsAt: QParamsAtDtype;
  bench: SensitivityBench;
  latency: { march: QuantizeModelOptions['march']; convertPipeline: QuantizeModelOptions['convertPipeline']; integerConv?: boolean };
  /** The fully quantized model (the template with the config's overrides), over all samples, and its latency. */
  quantized: SensitivityMetrics & { latencyUs: number };
  /**
   * The model `overrides` (added to the config's) and optionally another template give, prepared as `quantize`
   * prepares it and exported with the one calibration: measured over all samples and costed.
   */
  measure(overrides: readonly Override[], template?: QuantTemplate): Promise<SensitivityMetrics & { latencyUs: number }>;
}

/** Loads, canonicalizes, prepares and calibrates once, and reads the samples and float outputs once (see case 1). */
export async function openSensitivityBench(options: SensitivityOptions): Promise<SensitivityBenchContext> {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(options.modelPath);
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new QuantkitError(missing ? 'QK_FILE_NOT_FOUND' : 'QK_FILE_READ', `Cannot read ${options.modelPath}: ${(cause as Error).message}.`, {
      cause,
      subject: options.modelPath,
    });
  }
  const original = loadModel(options.modelPath);
  const float = (await canonicalizeForFlow(original, options)).model;
  const template: QuantTemplate = typeof options.template === 'object' ? options.template : templateByName(options.template ?? 'int8');
  const reusedOutputs = options.reusedOutputs ?? 'rescale';
  const overrides = [...(options.overrides ?? [])];
  const prepareOptions: PrepareOptions = { template, overrides, reusedOutputs, pipeline: options.pipeline };
  const base = await prepare(float, prepareOptions);

  const calibration: CalibrationResult = await calibrate(observeEveryActivation(base.model), { spec: options.data }, {
    observer: options.observer,
    observerConfig: options.observerConfig,
    observerModule: options.observerModule,
    workers: options.workers,
    modelName: options.modelPath,
    onProgress: options.onCalibration,
  });
  const paramsAt = qparamsAtDtype(calibration, options.observer, options.observerConfig);
  const exportAll = (model: Model, activation: ActivationQuant['dtype']) =>
    exportQdq(model, lookupForPlan(paramsAt, quantPlanOf(model), activation)).model;
  const bench = await openBench(options.data, float, options.modelPath);
  const latency = { march: options.march, convertPipeline: options.convertPipeline, integerConv: options.integerConv };
  const evaluate = async (qat: Model, name: string) => ({
    ...(await measureOnBench(bench, qat, name)),
    latencyUs: await latencyOnBench(bench, qat, latency, name),
  });
  const quantized = await evaluate(exportAll(base.model, template.activation), 'the quantized model');
  return {
    bytes,
    float,
    base,
    template,
    reusedOutputs,
    overrides,
    prepareOptions,
    calibration,
    paramsAt,
    bench,
    latency,
    quantized,
    measure: async (extra, other) => {
      const t = other ?? template;
      const variant = await prepare(float, { ...prepareOptions, template: t, overrides: [...overrides, ...extra] });
      return evaluate(exportAll(variant.model, t.activation), 'the mixed-precision model');
    },
  };
}

/**
 * `quantkit sensitivity`: for every quantized activation tensor and every GEMM weight of the prepared model,
 * (a) the error of the model when only it is quantized (everything else float) and (b) the gain when only it is
 * raised to int16 in the fully quantized model, with the cost model's latency for raising it.
 *
 * 1. One calibration: the prepared model is calibrated once with every activation observed on its own
 *    (observeEveryActivation); every variant takes its ranges from it, an int16 tensor from its state restored at
 *    int16 (qparamsAtDtype): what calibrating it at int16 gives for minmax and mse's histogram mode.
 * 2. (a) is the prepared model's plan with only that activation (or only that group's weight) quantized, exported
 *    to QDQ; (b) is prepare with the config's overrides plus `{ node, dtype: 'qint16' }` (or
 *    `{ node, weight: 'qint16' }`) — the very plan `quantize` with that override makes.
 * 3. Every variant runs on every sample (the samples and the float outputs are read and computed once) and is
 *    measured over all of them. (b) is converted for the march and costed: its latency minus the base's.
 * 4. (b) is unavailable (null, with the reason) for a graph input (no node to override), a tensor already int16,
 *    a node whose name does not single it out, a weight on a march without int16 weights, and an override that
 *    prepare refuses (its message).
 * `opened`: a bench already opened with the same options (--precision auto reuses it).
 * 5. Candidates are listed in plan order, activations then weights; with `shard` only those with index ≡ k (mod n)
 *    are measured. Rows are sorted by (a)'s SQNR, lowest first, then type, tensor and op, so that the merged rows
 *    of all shards equal one run's (see mergeSensitivityReports).
 */
export async function analyseSensitivity(options: SensitivityOptions, opened?: SensitivityBenchContext): Promise<SensitivityReport> {
  const bench = opened ?? (await openSensitivityBench(options));
  const { base, float, prepareOptions, paramsAt, template, calibration, quantized, latency, reusedOutputs, overrides, bytes } = bench;
  const candidates = listCandidates(base.model);
  const mine = options.shard ? candidates.filter((_, i) => i % options.shard!.count === options.shard!.index) : candidates;
  const gemmWeights = options.march.capabilities.gemmWeights as readonly string[];
  const nodes = float.graph.nodes();
  const rows: SensitivityRow[] = [];
  for (const candidate of mine) {
    const alone = await measureOnBench(
      bench.bench,
      exportQdq(
        onlyQuantizing(base.model, candidate.quant ? [candidate.quant] : [], candidate.group && !candidate.quant ? [candidate.group] : []),
        lookupForPlan(paramsAt, quantPlanOf(base.model), template.activation),
      ).model,
      `${candidate.tensor} alone`,
    );
    const row: SensitivityRow = {
      op: candidate.node?.name ?? '',
      opType: candidate.opType,
      sensitiveType: candidate.sensitiveType,
      tensor: candidate.tensor,
      dtype: candidate.dtype,
      alone,
      int16: null,
    };
    const raise = raiseOverride(candidate, nodes, gemmWeights, options.march.name);
    if (typeof raise === 'string') row.int16Unavailable = raise;
    else {
      const raised = await raisedVariant(float, prepareOptions, raise, paramsAt, template);
      if (typeof raised === 'string') row.int16Unavailable = raised;
      else {
        const metrics = await measureOnBench(bench.bench, raised, `${candidate.tensor} at int16`);
        const cost = await latencyOnBench(bench.bench, raised, latency, `${candidate.tensor} at int16`);
        row.int16 = { ...metrics, gainDb: metrics.sqnrDb - quantized.sqnrDb, latencyUs: cost - quantized.latencyUs, override: raise };
      }
    }
    rows.push(row);
    options.onProgress?.({ done: rows.length, total: mine.length, tensor: candidate.tensor });
  }

  const report: SensitivityReport = {
    format: SENSITIVITY_FORMAT,
    version: SENSITIVITY_VERSION,
    quantkit: options.version,
    model: { file: path.basename(options.modelPath), sha256: sha256(bytes) },
    calibration: {
      data: options.data.kind === 'random' ? `random ${options.data.count} (seed ${options.data.seed ?? 0})` : path.basename(options.data.path),
      samples: calibration.samples,
      sha256: calibrationFingerprint(options.data),
      observer: options.observerConfig === undefined ? calibration.observer : `${calibration.observer} ${JSON.stringify(options.observerConfig)}`,
    },
    config: {
      template: template.name,
      reusedOutputs,
      march: options.march.name,
      integerConv: options.integerConv ?? false,
      overrides,
      sha256: options.configText === undefined ? null : sha256(options.configText),
    },
    metric: METRIC,
    quantized,
    candidates: candidates.length,
    rows: sortRows(rows),
  };
  if (options.shard) {
    const pipeline = [options.canonicalizePipeline, options.pipeline, options.convertPipeline]
      .map((p) => p?.passes.map((pass) => pass.info.name).join(', ') ?? 'default')
      .join(' | ');
    report.shard = { index: options.shard.index, count: options.shard.count, run: { ...runLabels(report), pipeline } };
    // The shard record goes before the rows, as in a merged file the rows come last.
    const { rows: sorted, ...header } = report;
    return { ...header, rows: sorted };
  }
  return report;
}

/** What every shard of one analysis shares, by label (checked by mergeSensitivityReports). */
function runLabels(report: SensitivityReport): Record<string, string> {
  return {
    quantkit: report.quantkit,
    model: `sha256 ${report.model.sha256}`,
    data: `sha256 ${report.calibration.sha256}`,
    observer: report.calibration.observer,
    template: report.config.template,
    reusedOutputs: report.config.reusedOutputs,
    march: `${report.config.march}${report.config.integerConv ? ' (integer conv)' : ''}`,
    overrides: JSON.stringify(report.config.overrides),
    config: report.config.sha256 === null ? 'none' : `sha256 ${report.config.sha256}`,
  };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Most sensitive first: (a)'s SQNR ascending (NaN first), then sensitive type, tensor, op. */
export function sortRows(rows: readonly SensitivityRow[]): SensitivityRow[] {
  const key = (x: number) => (Number.isNaN(x) ? -Infinity : x);
  return [...rows].sort(
    (a, b) =>
      key(a.alone.sqnrDb) - key(b.alone.sqnrDb) ||
      compareText(a.sensitiveType, b.sensitiveType) ||
      compareText(a.tensor, b.tensor) ||
      compareText(a.op, b.op),
  );
}

/** The candidates of a prepared model, in plan order: the activations the QDQ export quantizes, then GEMM weights. */
function listCandidates(prepared: Model): Candidate[] {
  const plan = quantPlanOf(prepared);
  const candidates: Candidate[] = [];
  const fused = (group: GemmGroup) => group.nodes.map((n) => n.opType).join('+');
  for (const quant of plan.activations.values()) {
    const value = quant.value;
    // As the exporter: a float or high-precision tensor has no Q/DQ of its own, only a `uses` copy does.
    if (quant.uses === undefined && (plan.float.has(value) || plan.highPrecision.has(value))) continue;
    const readers = quant.uses?.length ?? value.uses().length;
    const toOutput = quant.uses === undefined && value.isGraphOutput() && !value.isGraphInput();
    if (readers === 0 && !toOutput) continue;
    const group = groupProducing(plan, value);
    const producer = value.producer();
    candidates.push({
      sensitiveType: 'activation',
      tensor: value.name,
      node: group?.node ?? producer,
      opType: group ? fused(group) : (producer?.opType ?? 'graph input'),
      dtype: quant.dtype,
      quant,
    });
  }
  for (const group of plan.groups) {
    const source = group.weight ? constantSource(group.weight) : undefined;
    if (!source) continue;
    candidates.push({ sensitiveType: 'weight', tensor: source.value.name, node: group.node, opType: fused(group), dtype: 'qint8', group });
  }
  return candidates;
}

/** The override that raises a candidate to int16, or why there is none (case 4). */
function raiseOverride(candidate: Candidate, nodes: readonly Node[], gemmWeights: readonly string[], march: string): RaiseOverride | string {
  if (candidate.sensitiveType === 'weight' && !gemmWeights.includes('int16')) return `n/a: ${march} has no int16 weights`;
  if (candidate.node === undefined) return 'n/a: a graph input has no node to override';
  if (candidate.sensitiveType === 'activation' && candidate.dtype === 'qint16') return 'n/a: already qint16';
  const name = candidate.node.name;
  if (name === '') return `n/a: its ${candidate.node.opType} node has no name to override`;
  const pattern = globToRegExp(name);
  const matches = nodes.filter((n) => pattern.test(n.name)).length;
  if (matches !== 1) return `n/a: the node name '${name}' matches ${matches} nodes, so an override cannot single it out`;
  return candidate.sensitiveType === 'weight' ? { node: name, weight: 'qint16' } : { node: name, dtype: 'qint16' };
}

/** (b)'s QDQ model: prepare with the override added, exported with the one calibration; or prepare's refusal. */
async function raisedVariant(
  float: Model,
  options: PrepareOptions,
  raise: RaiseOverride,
  paramsAt: QParamsAtDtype,
  template: QuantTemplate,
): Promise<Model | string> {
  let variant;
  try {
    variant = await prepare(float, { ...options, overrides: [...(options.overrides ?? []), raise as unknown as Override] });
  } catch (error) {
    if (isQuantkitError(error) && error.code === 'QK_CONFIG') return `n/a: ${error.message}`;
    throw error;
  }
  return exportQdq(variant.model, lookupForPlan(paramsAt, quantPlanOf(variant.model), template.activation)).model;
}
