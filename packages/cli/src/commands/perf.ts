import fs from 'node:fs';
import path from 'node:path';
import {
  applyInputShapes,
  chipPerf,
  inputSpecs,
  isQuantkitError,
  loadModel,
  openCalibrationSource,
  parsePerfConfig,
  perfModel,
  QuantkitError,
  type InputShape,
  type Model,
  type NpyArray,
  type ParamRow,
  type PerfComparison,
  type PerfConfig,
  type PerfReport,
} from '@quantkit/core';
import type { Command } from 'commander';
import { INPUT_SHAPE_HELP, inputShape, UsageError } from '../options.js';
import { table, type Io } from '../output.js';
import { loadContext, pluginOptions } from '../context.js';

export interface PerfFlags {
  march: string;
  integerConv?: boolean;
  chip?: string;
  compare?: boolean;
  config?: string;
  input?: string;
  inputShape?: InputShape[];
  template?: string;
  cpuInputQuantize?: boolean;
  plugin?: string[];
  json?: boolean;
}

/** The --input sample, read for the model's inputs (checked up front: it is used only when shapes need a run). */
async function readSample(model: Model, input: string): Promise<Map<string, NpyArray> | undefined> {
  if (!fs.existsSync(input)) {
    throw new QuantkitError('QK_FILE_NOT_FOUND', `The --input sample ${input} does not exist.`, {
      subject: input,
      hint: 'Give a .npy file (single-input models) or an .npz file whose keys are the input names.',
    });
  }
  const source = await openCalibrationSource({ kind: 'file', path: input }, inputSpecs(model));
  for await (const sample of source.samples()) return sample.inputs;
  return undefined;
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
      .argument('<model>', 'a float model (prepared with --template and converted), qat.onnx (converted first) or quantized.onnx (integer IR)'),
  )
    .requiredOption('--march <name>', 'target march: nash-m (J6E / J6M) or nash-h (J6P / J6H)')
    .option('--integer-conv', 'nash-h: convert the qat.onnx as nash-m does (int32 + Rescale; the host dequantizes int32 outputs)')
    .option('--chip <name>', 'chip of the march: nash-m J6M (default) or J6E; nash-h J6P (default) or J6H')
    .option('--compare', "nash-h: estimate the float-output and integer-conv conversions of a qat.onnx side by side")
    .option('--input <file>', 'one input sample (.npy, or .npz by input name) to run the model once when shapes cannot be inferred')
    .option('--input-shape <name=dims>', INPUT_SHAPE_HELP, inputShape)
    .option('--template <name>', 'float models: the plan to estimate, int8 (default) or int16 (no calibration: placeholder scales)')
    .option('--cpu-input-quantize', 'quantize the graph inputs on the host CPU (float feature inputs); by default an image input (4-D, 3 channels) is quantized on the BPU')
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
      const model = loadModel(file);
      applyInputShapes(model, flags.inputShape ?? []);
      const sample = flags.input === undefined ? undefined : await readSample(model, flags.input);
      let result;
      try {
        result = await perfModel({
          model,
          march,
          name: path.basename(file),
          chip,
          params: config.params,
          convertPipeline: context.pipeline('convert', march.name),
          preparePipeline: context.pipeline('prepare'),
          canonicalize: context.pipeline('canonicalize'),
          template: flags.template,
          integerConv: flags.integerConv,
          compare: flags.compare,
          cpuInputQuantize: flags.cpuInputQuantize,
          sample,
        });
      } catch (error) {
        if (isQuantkitError(error) && error.code === 'QK_USAGE') throw new UsageError(`${error.message} ${error.hint ?? ''}`.trim());
        throw error;
      }
      if (flags.template !== undefined && result.kind !== 'float') {
        io.stderr(`warning: --template applies to float models; ${file} is ${result.kind === 'qdq' ? 'a QDQ model' : 'integer IR'}, whose plan is already fixed.\n`);
      }
      for (const warning of result.warnings) io.stderr(`warning: ${warning}\n`);
      const shapes = Object.entries(result.inputShapes).map(([name, dims]) => `${name} [${dims.join(', ')}]`).join(', ');
      if (!flags.json && shapes) io.stdout(`input shapes: ${shapes}\n`);
      if (result.comparison) {
        io.stdout(flags.json ? JSON.stringify({ file, inputShapes: result.inputShapes, ...result.comparison }, null, 2) + '\n' : formatComparison(file, result.comparison));
        return;
      }
      const report = result.report!;
      io.stdout(flags.json ? JSON.stringify({ file, ...report }, null, 2) + '\n' : formatReport(file, report));
    });
}
