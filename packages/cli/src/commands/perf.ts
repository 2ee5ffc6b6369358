import fs from 'node:fs';
import path from 'node:path';
import {
  chipPerf,
  convert,
  inferShapesByRunning,
  inputSpecs,
  isQuantkitError,
  loadModel,
  openCalibrationSource,
  parsePerfConfig,
  perf,
  perfCompare,
  NASH_H_VARIANTS,
  QuantkitError,
  type March,
  type Model,
  type NpyArray,
  type ParamRow,
  type PerfComparison,
  type PerfConfig,
  type PerfOptions,
  type PerfReport,
  type Quantkit,
  applyInputShapes,
  type InputShape,
} from '@quantkit/core';
import type { Command } from 'commander';
import { inputShape, UsageError } from '../options.js';
import { table, type Io } from '../output.js';
import { loadContext, pluginOptions, type CliContext } from '../context.js';

export interface PerfFlags {
  march: string;
  integerConv?: boolean;
  chip?: string;
  compare?: boolean;
  config?: string;
  input?: string;
  inputShape?: InputShape[];
  plugin?: string[];
  json?: boolean;
}

/** What the file holds: integer IR (quantized.onnx), a QDQ model (qat.onnx), or neither. */
function modelKind(model: Model): 'integer' | 'qdq' | 'float' {
  const nodes = [...model.graph];
  if (nodes.some((n) => n.domain === 'quantkit')) return 'integer';
  if (nodes.some((n) => (n.domain === '' || n.domain === 'ai.onnx') && (n.opType === 'QuantizeLinear' || n.opType === 'DequantizeLinear'))) return 'qdq';
  return 'float';
}

/** qat.onnx → quantized.onnx for `march`, as `quantkit convert` does: the one place perf converts. */
async function toInteger(qat: Model, context: CliContext, march: March, integerConv: boolean, name: string): Promise<Model> {
  const result = await convert(qat, { march, pipeline: context.pipeline('convert', march.name), integerConv, name });
  return result.model;
}

/**
 * One input sample to run the model on when static shape inference leaves ops without a shape: `--input`, or a
 * seeded random sample when every input shape is declared. Undefined when there is neither.
 */
async function sampleFeeds(model: Model, input: string | undefined): Promise<Map<string, NpyArray> | undefined> {
  const specs = inputSpecs(model);
  if (input === undefined && !specs.every((s) => s.shape.every((d) => typeof d === 'number'))) return undefined;
  const source = await openCalibrationSource(input === undefined ? { kind: 'random', count: 1, seed: 0 } : { kind: 'file', path: input }, specs);
  for await (const sample of source.samples()) return sample.inputs;
  return undefined;
}

/**
 * Shapes from one onnxruntime run when static inference leaves some op without one (symbolic dims, an op it has no
 * rule for); undefined when static shapes suffice, or when there is no sample to run (a warning says so).
 */
async function runShapes(model: Model, march: March, options: PerfOptions, flags: PerfFlags, io: Io): Promise<Map<string, number[]> | undefined> {
  const unknown = perf(model, march, options).unknownShapes;
  if (unknown.length === 0) return undefined;
  const feeds = await sampleFeeds(model, flags.input);
  if (feeds === undefined) {
    io.stderr(
      `warning: no shape for ${unknown.length} op(s) (${unknown.slice(0, 3).join(', ')}${unknown.length > 3 ? ', …' : ''}); they count in no total. ` +
        'Give --input <sample.npy|npz> to run the model once for its shapes, or --input-shape NAME=DIMS to fix symbolic dims.\n',
    );
    return undefined;
  }
  return inferShapesByRunning(model, feeds);
}

const us = (x: number) => x.toFixed(2);
const count = (x: number) => Math.round(x).toLocaleString('en-US');
const signed = (x: number, format: (x: number) => string) => (x > 0 ? `+${format(x)}` : x < 0 ? `-${format(-x)}` : format(0));

export function formatOps(report: PerfReport): string {
  const rows = [['op', 'type', 'unit', 'dtypes', 'MACs', 'DDR bytes', 'latency µs', 'bound']];
  for (const op of report.ops) {
    rows.push(
      op.estimated
        ? [op.name, op.opType, op.unit, op.dtypes, count(op.macs), count(op.ddrBytes), us(op.latencyUs), op.bound]
        : [op.name, op.opType, op.unit, op.dtypes, '?', '?', '?', 'shape unknown'],
    );
  }
  const t = report.totals;
  rows.push(['total', '', '', '', count(t.macs), count(t.ddrBytes), us(t.latencyUs), '']);
  return table(rows);
}

export function formatTotals(report: PerfReport): string {
  const t = report.totals;
  return (
    `  NPU ${us(t.npuUs)} µs (BPU ${us(t.bpuUs)}, VPU ${us(t.vpuUs)}) + CPU ${us(t.cpuUs)} µs, ` +
    `of which the CPU dequantize of outputs ${us(t.cpuDequantizeUs)} µs = ${us(t.latencyUs)} µs in total`
  );
}

export function formatOutputs(report: PerfReport): string {
  const rows = [['output', 'from', 'dtype', 'elements', 'CPU dequantize µs', 'by']];
  for (const o of report.outputs) rows.push([o.name, o.from, o.dtype, count(o.elements), us(o.cpuDequantizeUs), o.node ?? (o.cpuDequantizeUs > 0 ? 'the host (added)' : '-')]);
  return table(rows);
}

export function formatParams(report: PerfReport): string {
  const rows = [['param', 'value', 'unit', 'basis', 'note']];
  const source = (row: ParamRow) => (row.source ? ` [source: ${row.source}]` : '');
  for (const row of report.params) rows.push([row.param, row.value.toExponential(3), row.unit, row.basis, `${row.note}${source(row)}`]);
  return table(rows);
}

function footer(report: PerfReport): string[] {
  const lines = ['', report.disclaimer];
  for (const note of report.notes) lines.push(`note: ${note}`);
  lines.push('', `parameters of ${report.chip} and their sources (override any under "perf": { "params": … } in a --config file):`, formatParams(report));
  return lines;
}

export function formatReport(file: string, report: PerfReport): string {
  const lines = [
    `${file} on ${report.march} (${report.chip})${report.variant ? `, ${report.variant}` : ''}: estimated latency — a roofline estimate, not a measurement`,
    formatOps(report),
    formatTotals(report),
    '',
    'outputs, as the host receives them',
    formatOutputs(report),
    ...footer(report),
  ];
  return lines.join('\n') + '\n';
}

export function formatComparison(file: string, comparison: PerfComparison): string {
  const [a, b] = comparison.variants as [PerfReport, PerfReport];
  const lines: string[] = [];
  for (const report of [a, b]) {
    lines.push(`${file} on ${report.march} (${report.chip}), ${report.variant}: estimated latency — a roofline estimate`, formatOps(report), formatTotals(report), '');
    lines.push('outputs, as the host receives them', formatOutputs(report), '');
  }
  const d = comparison.difference;
  const row = (label: string, key: keyof PerfReport['totals'], format: (x: number) => string) => [label, format(a.totals[key]), format(b.totals[key]), signed(d[key], format)];
  lines.push(
    `${a.variant} beside ${b.variant} (difference = ${b.variant} − ${a.variant}), estimated`,
    table([
      ['', a.variant ?? 'first', b.variant ?? 'second', 'difference'],
      row('total latency µs', 'latencyUs', us),
      row('NPU µs', 'npuUs', us),
      row('  BPU µs', 'bpuUs', us),
      row('  VPU µs', 'vpuUs', us),
      row('CPU µs', 'cpuUs', us),
      row('  CPU dequantize of outputs µs', 'cpuDequantizeUs', us),
      row('MACs', 'macs', count),
      row('DDR bytes', 'ddrBytes', count),
    ]),
    '',
    comparison.summary,
    ...footer(a),
  );
  return lines.join('\n') + '\n';
}

export function registerPerf(program: Command, io: Io): void {
  pluginOptions(
    program
      .command('perf')
      .description('estimate per-op and total latency, MACs and DDR traffic of a quantized model on a Nash chip, and the CPU time to dequantize its outputs (a roofline cost model: an estimate, not a measurement)')
      .argument('<model>', 'qat.onnx (a QDQ model; converted first) or quantized.onnx (integer IR)'),
  )
    .requiredOption('--march <name>', 'target march: nash-m (J6E / J6M) or nash-h (J6P / J6H)')
    .option('--integer-conv', 'nash-h: convert the qat.onnx as nash-m does (int32 + Rescale; the host dequantizes int32 outputs)')
    .option('--chip <name>', 'chip of the march: nash-m J6M (default) or J6E; nash-h J6P (default) or J6H')
    .option('--compare', "nash-h: estimate the float-output and integer-conv conversions of a qat.onnx side by side")
    .option('--input <file>', 'one input sample (.npy, or .npz by input name) to run the model once when shapes cannot be inferred')
    .option('--input-shape <name=dims>', 'fix the shape of a model input for shape inference and the random sample, e.g. x=1x3x160x160 (repeatable)', inputShape)
    .option('--json', 'print the report as JSON on stdout')
    .action(async (file: string, flags: PerfFlags) => {
      if (flags.compare && flags.integerConv) throw new UsageError('--compare already estimates both lowerings; drop --integer-conv');
      if ((flags.compare || flags.integerConv) && flags.march !== 'nash-h') {
        throw new UsageError(`${flags.compare ? '--compare' : '--integer-conv'} applies to --march nash-h (nash-m always emits int32 + Rescale)`);
      }
      const context = await loadContext(flags, io);
      const march = context.quantkit.march(flags.march);
      // The "perf" section of the config: "chip" and "params" (numbers that replace the march's).
      const config: PerfConfig = context.config.perf ?? {};
      const chip = flags.chip ?? config.chip;
      try {
        chipPerf(march, chip);
      } catch (error) {
        if (isQuantkitError(error) && error.code === 'QK_USAGE') throw new UsageError(`${error.message} ${error.hint ?? ''}`.trim());
        throw error;
      }
      const options: PerfOptions = { chip, params: config.params };
      if (flags.input !== undefined && !fs.existsSync(flags.input)) {
        // Checked up front: the sample is read only when shapes cannot be inferred, so a typo would go unnoticed.
        throw new QuantkitError('QK_FILE_NOT_FOUND', `The --input sample ${flags.input} does not exist.`, {
          subject: flags.input,
          hint: 'Give a .npy file (single-input models) or an .npz file whose keys are the input names.',
        });
      }
      const model = loadModel(file);
      applyInputShapes(model, flags.inputShape ?? []);
      const kind = modelKind(model);
      const name = path.basename(file);
      if (kind === 'float') {
        throw new QuantkitError('QK_UNSUPPORTED', `${file} is a float model: perf estimates quantized models.`, {
          subject: file,
          hint: 'Run `quantkit calibrate` first and give perf its qat.onnx (or a quantized.onnx).',
        });
      }
      if (kind === 'integer' && (flags.compare || flags.integerConv)) {
        throw new UsageError(`${file} is already converted (integer IR); ${flags.compare ? '--compare' : '--integer-conv'} needs the qat.onnx to convert`);
      }
      if (flags.compare) {
        const variants = await Promise.all(
          [
            { label: NASH_H_VARIANTS.floatOutput, integerConv: false },
            { label: NASH_H_VARIANTS.integerConv, integerConv: true },
          ].map(async (v) => {
            const integer = await toInteger(model, context, march, v.integerConv, name);
            // Shapes per variant: each conversion names its new values its own way.
            return { label: v.label, model: integer, shapes: await runShapes(integer, march, options, flags, io) };
          }),
        );
        const comparison = perfCompare(variants[0]!, variants[1]!, march, options);
        io.stdout(flags.json ? JSON.stringify({ file, ...comparison }, null, 2) + '\n' : formatComparison(file, comparison));
        return;
      }
      const integer = kind === 'integer' ? model : await toInteger(model, context, march, flags.integerConv ?? false, name);
      const shapes = await runShapes(integer, march, options, flags, io);
      const report = perf(integer, march, { ...options, shapes, ...(flags.integerConv ? { variant: NASH_H_VARIANTS.integerConv } : {}) });
      io.stdout(flags.json ? JSON.stringify({ file, ...report }, null, 2) + '\n' : formatReport(file, report));
    });
}
