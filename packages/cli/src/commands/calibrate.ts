import fs from 'node:fs';
import path from 'node:path';
import { renderReportHtml } from '@quantkit/report-html';
import {
  BUILTIN_TEMPLATES,
  isQuantkitError,
  QuantkitError,
  mergeCalibFiles,
  calibrateModel,
  calibrateShard,
  readCalibFile,
  saveModel,
  writeFileAtomic,
  type CalibrateModelOptions,
  type CalibrateReport,
  type InputShape,
} from '@quantkit/core';
import { Option, type Command } from 'commander';
import { table, type Io } from '../output.js';
import { loadContext, pluginOptions, type CliContext } from '../context.js';
import { dataSpec, INPUT_SHAPE_HELP, inputShape, integer, positiveInt, UsageError } from '../options.js';
import { makeOutputFolder, refuseOutputFolderClash, refuseOverwritingInputs } from '../outputs.js';
import { printPipelines } from '../print-pipeline.js';
import { progressBar } from '../progress.js';
import { resolveShard, shardOptions, type ShardFlag } from '../shard-option.js';
import { version } from '../version.js';

export interface CalibrateFlags {
  calib?: string;
  eval?: string;
  random?: number;
  seed?: number;
  template?: string;
  observer?: string;
  reusedOutputs?: 'rescale' | 'quantize';
  config?: string;
  workers?: number;
  shard?: ShardFlag;
  shards?: number;
  fromCalib?: string;
  plugin?: string[];
  out: string;
  json?: boolean;
  printPipeline?: boolean;
  inputShape?: InputShape[];
}

/** Adds the options `calibrate` and `quantize` share. */
export function calibrationOptions(command: Command): Command {
  command
    .option('--calib <path>', 'calibration data: a folder of .npy (single-input models) or .npz files, or one such file')
    .option('--eval <path>', 'measure report.json on these samples (a folder or file, as --calib) instead of the calibration data')
    .option('--random <n>', 'calibrate on N seeded standard-normal samples instead of data', positiveInt('--random'))
    .option('--seed <n>', 'seed for --random', integer, 0)
    .option('--template <name>', "quantization template: int8, int16 or int16w, or a plugin's (default: the config's, else int8)")
    .option('--observer <kind>', "activation observer: minmax or mse, or a plugin's (default: the config's, else minmax)")
    .addOption(
      new Option('--reused-outputs <mode>', 'a GEMM output that is a model output and feeds other ops: int32 + rescale, or quantize it').choices([
        'rescale',
        'quantize',
      ]),
    )
    .option('--input-shape <name=dims>', INPUT_SHAPE_HELP, inputShape)
    .option('--workers <n>', 'calibrate in N worker threads', positiveInt('--workers'))
    .option('--from-calib <file>', 'use the observer states of a calib.json (e.g. from merge-calib) instead of calibrating');
  return pluginOptions(command)
    .requiredOption('--out <dir>', 'output folder')
    .option('--print-pipeline', 'print the phases and passes this command would run, in order, with their plugins; exit 0 without running')
    .option('--json', 'print report.json on stdout instead of a table (with --print-pipeline: the pipeline as JSON)');
}

/** The observer of the flag, else of the config, else minmax; the config's options apply to its own kind only. */
function chooseObserver(context: CliContext, flag: string | undefined) {
  const chosen = context.config.observer;
  const kind = flag ?? chosen?.kind ?? 'minmax';
  if (flag !== undefined && !context.quantkit.observers().some((o) => o.kind === flag)) {
    throw new UsageError(`--observer ${flag}: no loaded plugin provides it (loaded: ${context.quantkit.observers().map((o) => o.kind).join(', ') || 'none'})`);
  }
  const observer = context.quantkit.observer(kind);
  const options = chosen?.kind === kind ? chosen.options : undefined;
  if (options !== undefined) {
    // Check the options now, so that a mistake names the config file before any work.
    try {
      observer.create({ dtype: 'qint8', granularity: { kind: 'per-tensor' } }, options);
    } catch (error) {
      if (!isQuantkitError(error)) throw error;
      throw new QuantkitError(error.code, `${context.config.file}: \`observer\`: ${error.message}`, { cause: error, hint: error.hint, subject: context.config.file });
    }
  }
  return { observer, config: options };
}

/** The template of the flag (a usage error when unknown), else of the config. */
function chooseTemplate(context: CliContext, flag: string | undefined) {
  const known = [...BUILTIN_TEMPLATES, ...context.quantkit.templates()].map((t) => t.name);
  if (flag !== undefined && !known.includes(flag)) throw new UsageError(`--template ${flag}: unknown template (known: ${known.join(', ')})`);
  return context.template(flag);
}

/**
 * Runs a flow; an override that fails on the model (core names it `override #n`) is re-thrown naming the config
 * file it came from.
 */
export async function namingConfigFile<T>(config: { file?: string }, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (!isQuantkitError(error) || error.code !== 'QK_CONFIG' || config.file === undefined || !error.message.startsWith('override #')) throw error;
    throw new QuantkitError(error.code, `${config.file}: ${error.message}`, { cause: error, hint: error.hint, subject: error.subject });
  }
}

/**
 * Everything the core flow needs, from the flags, the config file and the plugins (flags win over the config).
 * `context` defaults to loading the config and plugins the flags name.
 */
export async function flowOptions(model: string, flags: CalibrateFlags, io: Io, context?: CliContext): Promise<CalibrateModelOptions> {
  const ctx = context ?? (await loadContext(flags, io));
  const { config } = ctx;
  const template = chooseTemplate(ctx, flags.template);
  const { observer, config: observerConfig } = chooseObserver(ctx, flags.observer);
  // Worker threads import the observer from the plugin that provides it.
  const provider = ctx.loaded.plugins.find((p) => p.provides.observers.includes(observer));
  const data = dataSpec(flags, fs);
  const bar = progressBar(io, 'calibrating');
  return {
    modelPath: model,
    data,
    template,
    observer,
    observerConfig,
    observerModule: provider?.url,
    reusedOutputs: flags.reusedOutputs ?? config.reusedOutputs ?? 'rescale',
    overrides: config.overrides,
    configText: config.text,
    pipeline: ctx.pipeline('prepare'),
    canonicalizePipeline: ctx.pipeline('canonicalize'),
    inputShapes: flags.inputShape,
    workers: flags.workers,
    calibration: flags.fromCalib ? await readCalibFile(flags.fromCalib) : undefined,
    version,
    evalData: flags.eval === undefined ? undefined : dataSpec({ calib: flags.eval }, fs),
    onProgress: (e) => {
      bar.update(e.done, e.total, path.basename(e.sample));
      if (e.done === e.total) bar.end();
    },
  };
}

/** Where the figures come from, e.g. `16 samples of 16 .npy files in calib`. */
export function formatMeasuredOn(report: Pick<CalibrateReport, 'measuredOn'>): string {
  const on = report.measuredOn;
  const layerwise = on.layerwise === undefined ? '' : `; layer-wise agreement on ${on.layerwise.sample}`;
  return `${on.samples} samples of ${on.source === 'eval' ? '--eval ' : ''}${on.data}${layerwise}`;
}

/** One line on what canonicalize did: node counts and the input shapes used. */
export function formatCanonicalizeLine(report: Pick<CalibrateReport, 'canonicalize'>): string {
  const { nodes, inputShapes } = report.canonicalize;
  const shapes = Object.entries(inputShapes).map(([name, s]) => `${name} ${s.shape.join('x')} (from ${s.from})`);
  return `canonicalize: ${nodes.before} → ${nodes.after} nodes; input shapes ${shapes.join(', ') || 'not fixed'}\n`;
}

export function formatMetricsTable(report: Pick<CalibrateReport, 'outputs' | 'layers'>, title: string): string {
  const f = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
  const rows = [['output', 'SQNR dB', 'cosine', 'max abs', 'mean abs', 'weight-only SQNR dB']];
  for (const [name, m] of Object.entries(report.outputs)) {
    rows.push([name, f(m.sqnrDb), f(m.cosine, 6), m.maxAbs.toExponential(2), m.meanAbs.toExponential(2), f(m.weightOnly.sqnrDb)]);
  }
  const lines = [title, table(rows)];
  if (report.layers.length > 0) {
    lines.push('', 'worst layers (each quantized tensor against its float twin)');
    lines.push(table([['tensor', 'SQNR dB', 'cosine'], ...report.layers.slice(0, 5).map((l) => [l.tensor, f(l.sqnrDb), f(l.cosine, 6)])]));
  }
  return lines.join('\n') + '\n';
}

export function registerCalibrate(program: Command, io: Io): void {
  shardOptions(
    calibrationOptions(
      program
        .command('calibrate')
        .description('prepare and calibrate a float model; write calib.json, qat.onnx (QDQ, opset 21) and report.json')
        .argument('<model>', 'the float ONNX model'),
    ),
    'calibrate only shard k of n and write only calib.json (combine with merge-calib)',
  )
    .action(async (model: string, flags: CalibrateFlags) => {
      refuseOverwritingInputs(
        ['calib.json', 'qat.onnx', 'report.json', 'report.html'].map((name) => path.join(flags.out, name)),
        [model, ...(flags.fromCalib ? [flags.fromCalib] : []), ...(flags.config ? [flags.config] : [])],
      );
      const context = await loadContext(flags, io);
      if (flags.printPipeline) {
        printPipelines(context, ['canonicalize', 'prepare'], io, flags.json === true);
        return;
      }
      const out = flags.out;
      refuseOutputFolderClash(out);
      const shard = resolveShard(flags, io);
      const options = await flowOptions(model, flags, io, context);
      if (shard) {
        const result = await namingConfigFile(context.config, () => calibrateShard(options, shard));
        makeOutputFolder(out);
        writeFileAtomic(path.join(out, 'calib.json'), result.toText());
        io.stderr(`wrote ${path.join(out, 'calib.json')} (shard ${shard.index}/${shard.count}, ${result.samples} samples)\n`);
        return;
      }
      const result = await namingConfigFile(context.config, () => calibrateModel(options));
      makeOutputFolder(out);
      const reportText = `${JSON.stringify(result.report, null, 2)}\n`;
      writeFileAtomic(path.join(out, 'calib.json'), result.calibration.toText());
      // saveModel: external weights of the float model are inlined again, or past 2 GiB written beside qat.onnx.
      saveModel(result.qat, path.join(out, 'qat.onnx'));
      writeFileAtomic(path.join(out, 'report.json'), reportText);
      writeFileAtomic(path.join(out, 'report.html'), renderReportHtml(result.report));
      if (flags.json) io.stdout(reportText);
      else {
        io.stdout(formatCanonicalizeLine(result.report));
        io.stdout(formatMetricsTable(result.report, `${model}: qat.onnx against the float model (${formatMeasuredOn(result.report)})`));
        io.stdout(`\nwrote calib.json, qat.onnx, report.json, report.html to ${out}\n`);
      }
    });
}

export function registerMergeCalib(program: Command, io: Io): void {
  pluginOptions(
    program
      .command('merge-calib')
      .description('merge the calib.json of calibration shards into one, equal to one run over all the data')
      .argument('<files...>', 'calib.json files of the shards'),
  )
    .requiredOption('--out <file>', 'the merged calib.json')
    .action(async (files: string[], flags: { out: string; config?: string; plugin?: string[] }) => {
      refuseOverwritingInputs([flags.out], files);
      const { quantkit } = await loadContext(flags, io);
      const merged = await mergeCalibFiles(files, (kind) => quantkit.observer(kind));
      writeFileAtomic(flags.out, merged.toText());
      io.stderr(`merged ${files.length} files (${merged.samples} samples) into ${flags.out}\n`);
    });
}
