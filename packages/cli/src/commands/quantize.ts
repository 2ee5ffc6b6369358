import path from 'node:path';
import { renderReportHtml } from '@quantkit/report-html';
import {
  chooseMixedPrecision,
  parseLatencyBudget,
  quantizeModel,
  saveModel,
  writeFileAtomic,
  type LatencyBudget,
  type MixedPrecisionResult,
  type Override,
  type QuantizeReport,
} from '@quantkit/core';
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { UsageError } from '../options.js';
import { table, type Io } from '../output.js';
import { PrecisionGateError } from '../precision-gate.js';
import { loadContext } from '../context.js';
import { makeOutputFolder, refuseOutputFolderClash, refuseOverwritingInputs } from '../outputs.js';
import { printPipelines } from '../print-pipeline.js';
import {
  calibrationOptions,
  flowOptions,
  formatCanonicalizeLine,
  formatMeasuredOn,
  formatMetricsTable,
  namingConfigFile,
  type CalibrateFlags,
} from './calibrate.js';

interface QuantizeFlags extends CalibrateFlags {
  march: string;
  integerConv?: boolean;
  minSqnr?: number;
  precision?: 'auto';
  targetSqnr?: number;
  targetCosine?: number;
  maxLatency?: LatencyBudget;
}

function latencyBudget(text: string): LatencyBudget {
  const budget = parseLatencyBudget(text);
  if (!budget) throw new InvalidArgumentError('must be a factor of the int8 plan\'s latency (1.25x) or microseconds (900us).');
  return budget;
}

function finiteNumber(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new InvalidArgumentError('must be a number.');
  return value;
}

/** The trade-off --precision auto found: int8, the choice, int16 (template). */
export function formatTradeOff(result: MixedPrecisionResult): string {
  const f = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
  const row = (label: string, p: { sqnrDb: number; cosine: number; latencyUs: number }) => [label, f(p.sqnrDb), f(p.cosine, 6), f(p.latencyUs, 1), `${f(p.latencyUs / result.int8.latencyUs, 3)}x`];
  const goal = [
    result.goal.targetSqnrDb !== null ? `SQNR ≥ ${result.goal.targetSqnrDb} dB` : '',
    result.goal.targetCosine !== null ? `cosine ≥ ${result.goal.targetCosine}` : '',
  ].filter(Boolean).join(', ');
  return [
    `--precision auto: ${goal} within ${result.goal.maxLatency} (${f(result.goal.budgetUs, 1)} µs); measured on ${result.measuredOn}`,
    table([
      ['', 'SQNR dB', 'cosine', 'latency µs', 'vs int8'],
      row('int8', result.int8),
      row(`chosen (${result.chosen.overrides.length} raised to int16)`, result.chosen),
      row('int16 template', result.int16),
    ]),
    result.reached ? 'target reached' : 'target NOT reached within the budget: the choice is the best found',
  ].join('\n') + '\n';
}

export function formatIntegerTable(report: QuantizeReport): string {
  const f = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
  const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(3)} %` : 'n/a');
  const rows = [['output', 'SQNR dB', 'cosine', 'max abs', 'within 1 LSB of QDQ: end to end', 'layer-wise']];
  for (const [name, m] of Object.entries(report.integer.outputs)) {
    rows.push([name, f(m.sqnrDb), f(m.cosine, 6), m.maxAbs.toExponential(2), pct(m.lsbAgreement), pct(m.lsbAgreementLayerwise)]);
  }
  const worst = report.integer.layers[0];
  const march = `${report.march}${report.integerConv ? ' (integer conv)' : ''}`;
  const lines = [`quantized.onnx (integer model, ${march}) against the float model`, table(rows)];
  if (worst) lines.push(`worst integer tensor, layer by layer: ${worst.tensor} ${pct(worst.lsbAgreement)} within one step of qat.onnx`);
  lines.push(
    report.fallback.length === 0
      ? 'no CPU fallback: every op has a BPU or VPU lowering'
      : `CPU fallback (${report.fallback.length}): ${report.fallback.join(', ')}`,
  );
  const t = report.perf.totals;
  lines.push(
    '',
    `perf (${report.perf.chip}, an estimate from a roofline cost model, not a measurement): ${t.latencyUs.toFixed(1)} µs total — NPU ${t.npuUs.toFixed(1)} µs (BPU ${t.bpuUs.toFixed(1)}, VPU ${t.vpuUs.toFixed(1)}), CPU ${t.cpuUs.toFixed(1)} µs of which dequantizing outputs ${t.cpuDequantizeUs.toFixed(1)} µs; ${(t.macs / 1e6).toFixed(1)} M MACs, ${(t.ddrBytes / 1e6).toFixed(2)} MB DDR`,
  );
  return lines.join('\n') + '\n';
}

export function registerQuantize(program: Command, io: Io): void {
  calibrationOptions(
    program
      .command('quantize')
      .description("the seed's whole flow: calibrate, export qat.onnx, convert to the march's integer model, measure it")
      .argument('<model>', 'the float ONNX model'),
  )
    .requiredOption('--march <name>', 'target march: nash-m (J6E / J6M) or nash-h (J6P / J6H), from its installed plugin')
    .option('--integer-conv', 'nash-h: int32 output + rescale as on nash-m, instead of float32 outputs')
    .option('--min-sqnr <dB>', 'exit 1 when any output of the integer model falls below this SQNR', Number)
    .addOption(new Option('--precision <mode>', 'auto: raise the tensors / weights with the best measured int16 gain per µs until the target or the budget').choices(['auto']))
    .option('--target-sqnr <dB>', 'with --precision auto: the SQNR (worst output, over all samples) to reach', finiteNumber)
    .option('--target-cosine <c>', 'with --precision auto: the cosine (worst output, over all samples) to reach', finiteNumber)
    .option('--max-latency <budget>', "with --precision auto: 1.25x (of the int8 plan's estimate) or 900us (default 1.25x)", latencyBudget)
    .action(async (model: string, flags: QuantizeFlags) => {
      refuseOverwritingInputs(
        ['calib.json', 'qat.onnx', 'quantized.onnx', 'report.json', 'report.html', 'overrides.json'].map((name) => path.join(flags.out, name)),
        [model, ...(flags.fromCalib ? [flags.fromCalib] : []), ...(flags.config ? [flags.config] : [])],
      );
      const context = await loadContext(flags, io);
      if (flags.printPipeline) {
        printPipelines(context, ['canonicalize', 'prepare', 'convert'], io, flags.json === true, flags.march);
        return;
      }
      refuseOutputFolderClash(flags.out);
      const march = context.quantkit.march(flags.march);
      const options = await flowOptions(model, flags, io, context);
      const auto = flags.precision === 'auto';
      if (!auto && (flags.targetSqnr !== undefined || flags.targetCosine !== undefined || flags.maxLatency !== undefined)) {
        throw new UsageError('--target-sqnr, --target-cosine and --max-latency go with --precision auto');
      }
      if (auto && flags.targetSqnr === undefined && flags.targetCosine === undefined) throw new UsageError('--precision auto needs --target-sqnr or --target-cosine');
      const convertPipeline = context.pipeline('convert', march.name);
      let mixed: MixedPrecisionResult | undefined;
      if (auto) {
        const chosen = await namingConfigFile(context.config, () =>
          chooseMixedPrecision(
            { ...options, march, convertPipeline, integerConv: flags.integerConv ?? false, onProgress: undefined, onCalibration: options.onProgress },
            { targetSqnrDb: flags.targetSqnr, targetCosine: flags.targetCosine, maxLatency: flags.maxLatency ?? { factor: 1.25 } },
          ),
        );
        mixed = chosen.result;
        options.overrides = [...(options.overrides ?? []), ...(mixed.chosen.overrides as unknown as Override[])];
      }
      const result = await namingConfigFile(context.config, () =>
        quantizeModel({
          ...options,
          march,
          convertPipeline,
          integerConv: flags.integerConv ?? false,
        }),
      );
      makeOutputFolder(flags.out);
      const report = mixed ? { ...result.report, mixedPrecision: mixed } : result.report;
      const reportText = `${JSON.stringify(report, null, 2)}\n`;
      if (mixed) {
        // A config file of overrides that reproduces the choice: quantkit quantize … --config overrides.json.
        const config = { template: result.report.config.template, overrides: options.overrides ?? [] };
        writeFileAtomic(path.join(flags.out, 'overrides.json'), `${JSON.stringify(config, null, 2)}\n`);
      }
      writeFileAtomic(path.join(flags.out, 'calib.json'), result.calibration.toText());
      // saveModel: weights a float model kept in external data are inlined again (or, past 2 GiB, written to a
      // .data file beside the output), never left pointing at the input's data file.
      saveModel(result.qat, path.join(flags.out, 'qat.onnx'));
      saveModel(result.quantized, path.join(flags.out, 'quantized.onnx'));
      writeFileAtomic(path.join(flags.out, 'report.json'), reportText);
      writeFileAtomic(path.join(flags.out, 'report.html'), renderReportHtml(result.report));
      if (flags.json) io.stdout(reportText);
      else {
        io.stdout(formatCanonicalizeLine(result.report));
        io.stdout(formatMetricsTable(result.report, `${model}: qat.onnx (QDQ simulation) against the float model (${formatMeasuredOn(result.report)})`));
        io.stdout('\n' + formatIntegerTable(result.report));
        if (mixed) io.stdout('\n' + formatTradeOff(mixed));
        io.stdout(`\nwrote calib.json, qat.onnx, quantized.onnx, report.json, report.html${mixed ? ', overrides.json' : ''} to ${flags.out}\n`);
      }
      if (flags.minSqnr !== undefined) {
        const below = Object.entries(result.report.integer.outputs).filter(([, m]) => !(m.sqnrDb >= flags.minSqnr!));
        if (below.length > 0) {
          io.stderr(
            `error [QK_PRECISION]: ${below.map(([n, m]) => `${n} ${m.sqnrDb.toFixed(2)} dB`).join(', ')} below --min-sqnr ${flags.minSqnr} dB.\n`,
          );
          throw new PrecisionGateError();
        }
      }
    });
}

export { PrecisionGateError };
