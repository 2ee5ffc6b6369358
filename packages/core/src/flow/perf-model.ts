import { convert } from '../convert/convert.js';
import { openCalibrationSource } from '../data/calibration-data.js';
import type { InputSpec } from '../data/calibration-data.js';
import type { NpyArray } from '../data/npy.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import { cloneModel } from '../ir/clone.js';
import type { Model } from '../ir/model.js';
import type { March } from '../march/march.js';
import type { QuantTemplate } from '../march/template.js';
import type { Pipeline } from '../pass/pass-manager.js';
import { NASH_H_VARIANTS, perfCompare, type PerfComparison } from '../perf/compare.js';
import { inferShapesByRunning } from '../perf/infer-shapes-by-running.js';
import { perf, type PerfOptions, type PerfReport } from '../perf/perf.js';
import { prepare } from '../prepare/prepare.js';
import { templateByName } from '../prepare/templates.js';
import { exportQdq } from '../qdq/export-qdq.js';
import type { QParams } from '../quant/observer.js';
import { inputSpecs } from '../runtime/model-io.js';

/** What a file given to perf holds: integer IR (quantized.onnx), a QDQ model (qat.onnx), or a float model. */
export type PerfModelKind = 'integer' | 'qdq' | 'float';

export interface PerfModelOptions extends Omit<PerfOptions, 'shapes' | 'variant'> {
  /** The model as loaded (float, qat.onnx or quantized.onnx); never modified. */
  model: Model;
  march: March;
  /** The convert-phase passes (quantkit.pipeline('convert', march)): how a qat.onnx or a float model is lowered. */
  convertPipeline: Pipeline;
  /** Float models: the canonicalize-phase passes, run on a clone before prepare. */
  canonicalize?: Pipeline;
  /** Float models: the prepare-phase passes. */
  preparePipeline?: Pipeline;
  /** Float models: the plan's template ('int8' default, 'int16', or a plugin's). */
  template?: string | QuantTemplate;
  /** nash-h: convert as nash-m does (int32 + Rescale; the host dequantizes int32 outputs). */
  integerConv?: boolean;
  /** nash-h: estimate the float-output and integer-conv lowerings side by side. */
  compare?: boolean;
  /** Sizes of symbolic input dims, by input name (e.g. { images: [1, 3, 640, 640] }). */
  inputShapes?: Record<string, readonly number[]>;
  /** One input sample to run the model on when static shapes are not enough (else a seeded random one). */
  sample?: ReadonlyMap<string, NpyArray>;
  /** Names the model in errors and notes (a file name). */
  name?: string;
}

export interface PerfModelResult {
  kind: PerfModelKind;
  /** The estimate (of the integer-conv variant with `integerConv`); with `compare`, the comparison instead. */
  report?: PerfReport;
  comparison?: PerfComparison;
  /** The shape of every graph input that the estimate used, by name. */
  inputShapes: Record<string, number[]>;
  /** Things the caller should warn the user about (ops left without a shape). */
  warnings: string[];
}

/** The kind of model perf was given (see PerfModelKind). */
export function perfModelKind(model: Model): PerfModelKind {
  const nodes = [...model.graph];
  if (nodes.some((n) => n.domain === 'quantkit')) return 'integer';
  const standard = (domain: string) => domain === '' || domain === 'ai.onnx';
  if (nodes.some((n) => standard(n.domain) && (n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear'))) return 'qdq';
  return 'float';
}

/** Every activation at a placeholder range: scales change no cost, and a float model is costed without data. */
const PLACEHOLDER: QParams = { dtype: 'qint8', granularity: { kind: 'per-tensor' }, scale: new Float32Array([1 / 127]), amax: new Float32Array([1]) };

/**
 * The `perf` flow: which model it got, how to make it integer IR, which shapes, and the estimate.
 *
 * 1. Kind: integer IR is estimated as it is; a qat.onnx is converted for the march (convertPipeline, integerConv)
 *    first; a float model is canonicalized (on a clone), prepared with the template's default plan, exported to QDQ
 *    with placeholder scales (no calibration: scales do not change the cost) and converted.
 * 2. `compare` (nash-h, not integer IR): both lowerings, float-output and integer-conv, through perfCompare.
 *    `compare` or `integerConv` on integer IR, or on a march other than nash-h, is a QK_USAGE error.
 * 3. Shapes: `inputShapes` set symbolic input dims; when static inference leaves an op without a shape, the model
 *    runs once on `sample` (or a seeded random sample when every input shape is known) and the run's shapes are
 *    used; without either, a warning names the ops, which count in no total.
 * 4. The result names the input shapes used (the report's `inputs` too); a float model's report says in its notes
 *    that it was estimated on a default plan with placeholder scales. Nothing is written.
 */
export async function perfModel(options: PerfModelOptions): Promise<PerfModelResult> {
  const { model, march } = options;
  const what = options.name ?? (model.graph.name ? `model '${model.graph.name}'` : 'the model');
  const kind = perfModelKind(model);
  const warnings: string[] = [];
  if ((options.compare || options.integerConv) && march.name !== 'nash-h') {
    throw new QuantkitError('QK_USAGE', `${options.compare ? 'compare' : 'integerConv'} applies to nash-h (${march.name} always emits int32 + Rescale).`);
  }
  if (options.compare && options.integerConv) throw new QuantkitError('QK_USAGE', 'compare already estimates both lowerings; drop integerConv.');
  if (kind === 'integer' && (options.compare || options.integerConv)) {
    throw new QuantkitError('QK_USAGE', `${what} is already converted (integer IR); ${options.compare ? 'compare' : 'integerConv'} needs the qat.onnx or the float model to convert.`, {
      subject: options.name,
    });
  }
  const given = new Map(Object.entries(options.inputShapes ?? {}).map(([name, dims]) => [name, [...dims]]));
  for (const name of given.keys()) {
    if (!model.graph.inputs.some((v) => v.name === name)) {
      throw new QuantkitError('QK_USAGE', `${what} has no input '${name}' (inputs: ${model.graph.inputs.map((v) => v.name).join(', ')}).`, { subject: name });
    }
  }
  const notes: string[] = [];
  const qdq = kind === 'float' ? await placeholderQdq(model, options, notes) : model;
  const lower = async (integerConv: boolean) =>
    kind === 'integer' ? model : (await convert(qdq, { march, pipeline: options.convertPipeline, integerConv, name: options.name })).model;
  const perfOptions: PerfOptions = { chip: options.chip, params: options.params, cpuInputQuantize: options.cpuInputQuantize };
  const inputShapes = usedInputShapes(model, given);
  if (options.compare) {
    const variants = [];
    for (const v of [
      { label: NASH_H_VARIANTS.floatOutput, integerConv: false },
      { label: NASH_H_VARIANTS.integerConv, integerConv: true },
    ]) {
      const integer = await lower(v.integerConv);
      variants.push({ label: v.label, model: integer, shapes: await shapesFor(integer, march, perfOptions, given, options.sample, warnings) });
    }
    const comparison = perfCompare(variants[0]!, variants[1]!, march, perfOptions);
    for (const report of comparison.variants) report.notes.unshift(...notes);
    return { kind, comparison, inputShapes: { ...inputShapes, ...inputShapesOf(comparison.variants[0]!) }, warnings };
  }
  const integer = await lower(options.integerConv ?? false);
  const shapes = await shapesFor(integer, march, perfOptions, given, options.sample, warnings);
  const report = perf(integer, march, { ...perfOptions, shapes, ...(options.integerConv ? { variant: NASH_H_VARIANTS.integerConv } : {}) });
  report.notes.unshift(...notes);
  return { kind, report, inputShapes: { ...inputShapes, ...inputShapesOf(report) }, warnings };
}

async function placeholderQdq(model: Model, options: PerfModelOptions, notes: string[]): Promise<Model> {
  let float = model;
  if (options.canonicalize) float = (await options.canonicalize.execute(cloneModel(model), { march: options.march.name })).model;
  const template = typeof options.template === 'object' ? options.template : templateByName(options.template ?? 'int8');
  const prepared = await prepare(float, { template, pipeline: options.preparePipeline });
  notes.push(
    `A float model: estimated on the ${template.name} template's default plan with placeholder scales (no calibration; scales do not change the cost).`,
  );
  return exportQdq(prepared.model, () => PLACEHOLDER).model;
}

function usedInputShapes(model: Model, given: ReadonlyMap<string, number[]>): Record<string, number[]> {
  const shapes: Record<string, number[]> = {};
  for (const spec of inputSpecs(model)) {
    const dims = given.get(spec.name) ?? (spec.shape.every((d) => typeof d === 'number') ? (spec.shape as number[]) : undefined);
    if (dims) shapes[spec.name] = [...dims];
  }
  return shapes;
}

function inputShapesOf(report: PerfReport): Record<string, number[]> {
  return Object.fromEntries(report.inputs.filter((i) => i.shape !== null).map((i) => [i.name, i.shape!]));
}

/**
 * Shapes for `integer` beyond static inference: undefined when the given input shapes and static rules suffice,
 * else one onnxruntime run on the sample (or a seeded random one when every input shape is known).
 */
async function shapesFor(
  integer: Model,
  march: March,
  options: PerfOptions,
  given: ReadonlyMap<string, number[]>,
  sample: ReadonlyMap<string, NpyArray> | undefined,
  warnings: string[],
): Promise<Map<string, number[]>> {
  const unknown = perf(integer, march, { ...options, shapes: given }).unknownShapes;
  if (unknown.length === 0) return new Map(given);
  const specs: InputSpec[] = inputSpecs(integer).map((s) => ({ ...s, shape: given.get(s.name) ?? s.shape }));
  let feeds = sample;
  if (feeds === undefined && specs.every((s) => s.shape.every((d) => typeof d === 'number'))) {
    const source = await openCalibrationSource({ kind: 'random', count: 1, seed: 0 }, specs);
    for await (const s of source.samples()) {
      feeds = s.inputs;
      break;
    }
  }
  if (feeds === undefined) {
    const symbolic = specs.filter((s) => !s.shape.every((d) => typeof d === 'number')).map((s) => `${s.name} [${s.shape.map((d) => d ?? '?').join(', ')}]`);
    warnings.push(
      `no shape for ${unknown.length} op(s) (${unknown.slice(0, 3).join(', ')}${unknown.length > 3 ? ', …' : ''}); they count in no total. ` +
        (symbolic.length ? `Inputs with symbolic dims: ${symbolic.join(', ')}; give their sizes (inputShapes) or ` : 'Give ') +
        'an input sample to run the model once for its shapes.',
    );
    return new Map(given);
  }
  return new Map([...given, ...(await inferShapesByRunning(integer, feeds))]);
}
