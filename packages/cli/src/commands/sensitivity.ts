import path from 'node:path';
import {
  analyseSensitivity,
  mergeSensitivityFiles,
  sensitivityText,
  writeFileAtomic,
  type InputShape,
  type SensitivityReport,
} from '@quantkit/core';
import { Option, type Command } from 'commander';
import { loadContext, pluginOptions } from '../context.js';
import { INPUT_SHAPE_HELP, inputShape, integer, positiveInt, UsageError } from '../options.js';
import { table, type Io } from '../output.js';
import { makeOutputFolder, refuseOutputFolderClash, refuseOverwritingInputs } from '../outputs.js';
import { progressBar } from '../progress.js';
import { resolveShard, shardOptions, type ShardFlag } from '../shard-option.js';
import { flowOptions, namingConfigFile } from './calibrate.js';

interface SensitivityFlags {
  calib?: string;
  random?: number;
  seed?: number;
  template?: string;
  observer?: string;
  reusedOutputs?: 'rescale' | 'quantize';
  config?: string;
  plugin?: string[];
  workers?: number;
  inputShape?: InputShape[];
  march: string;
  integerConv?: boolean;
  shard?: ShardFlag;
  shards?: number;
  out?: string;
  json?: boolean;
}

const f = (x: number | undefined, digits = 2) => (x !== undefined && Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

/** The table Horizon's QuantAnalysis users know: op name, sensitive type, op type, then the metrics. */
export function formatSensitivityTable(report: SensitivityReport): string {
  const rows = [['op_name', 'sensitive_type', 'op_type', 'tensor', 'quant_dtype', 'SQNR alone dB', 'cosine', 'L1', 'int16 gain dB', 'Δ latency µs']];
  for (const row of report.rows) {
    rows.push([
      row.op || '(input)',
      row.sensitiveType,
      row.opType,
      row.tensor,
      row.dtype,
      f(row.alone.sqnrDb),
      f(row.alone.cosine, 6),
      row.alone.l1.toExponential(2),
      row.int16 ? f(row.int16.gainDb) : (row.int16Unavailable ?? 'n/a'),
      row.int16 ? f(row.int16.latencyUs, 1) : '',
    ]);
  }
  const q = report.quantized;
  const shard = report.shard ? ` — shard ${report.shard.index}/${report.shard.count}: ${report.rows.length} of ${report.candidates} candidates` : '';
  return [
    `${report.model.file}: sensitivity of the ${report.config.template} model on ${report.config.march} over ${report.calibration.samples} samples${shard}`,
    `fully quantized: SQNR ${f(q.sqnrDb)} dB, cosine ${f(q.cosine, 6)}, estimated latency ${f(q.latencyUs, 1)} µs`,
    'SQNR alone: only that tensor quantized, everything else float; int16 gain: the fully quantized model with only it raised to int16; Δ latency: the cost model\'s estimate of raising it',
    table(rows),
  ].join('\n') + '\n';
}

export function registerSensitivity(program: Command, io: Io): void {
  shardOptions(
    pluginOptions(
      program
        .command('sensitivity')
        .description('per-tensor sensitivity table: the error of quantizing each activation and GEMM weight alone, the gain of raising it to int16, and its latency cost')
        .argument('<model>', 'the float ONNX model'),
    )
      .option('--calib <path>', 'calibration data: a folder of .npy (single-input models) or .npz files, or one such file')
      .option('--random <n>', 'use N seeded standard-normal samples instead of data', positiveInt('--random'))
      .option('--seed <n>', 'seed for --random', integer, 0)
      .option('--template <name>', "quantization template the table starts from (default: the config's, else int8)")
      .option('--observer <kind>', "activation observer: minmax or mse, or a plugin's (default: the config's, else minmax)")
      .addOption(new Option('--reused-outputs <mode>', 'a GEMM output that is a model output and feeds other ops').choices(['rescale', 'quantize']))
      .option('--march <name>', 'target march for the latency costs: nash-m or nash-h', 'nash-m')
      .option('--integer-conv', 'nash-h: int32 output + rescale as on nash-m, instead of float32 outputs')
      .option('--input-shape <name=dims>', INPUT_SHAPE_HELP, inputShape)
      .option('--workers <n>', 'calibrate in N worker threads', positiveInt('--workers'))
      .option('--out <dir>', 'write sensitivity.json to this folder (required with --shard)')
      .option('--json', 'print sensitivity.json on stdout instead of the table'),
    'analyse only shard k of n of the candidates and write its sensitivity.json (combine with merge-sensitivity)',
  ).action(async (model: string, flags: SensitivityFlags) => {
    const shard = resolveShard(flags, io);
    if (shard && flags.out === undefined) throw new UsageError('--shard needs --out: each shard writes its sensitivity.json for merge-sensitivity');
    if (flags.out !== undefined) {
      refuseOverwritingInputs([path.join(flags.out, 'sensitivity.json')], [model, ...(flags.config ? [flags.config] : [])]);
      refuseOutputFolderClash(flags.out);
    }
    const context = await loadContext(flags, io);
    const march = context.quantkit.march(flags.march);
    const options = await flowOptions(model, { ...flags, out: flags.out ?? '' }, io, context);
    const bar = progressBar(io, 'analysing');
    const started = Date.now();
    const report = await namingConfigFile(context.config, () =>
      analyseSensitivity({
        ...options,
        march,
        convertPipeline: context.pipeline('convert', march.name),
        integerConv: flags.integerConv ?? false,
        shard,
        onCalibration: options.onProgress,
        onProgress: (e) => {
          bar.update(e.done, e.total, e.tensor);
          if (e.done === e.total) bar.end();
        },
      }),
    );
    const text = sensitivityText(report);
    if (flags.out !== undefined) {
      makeOutputFolder(flags.out);
      writeFileAtomic(path.join(flags.out, 'sensitivity.json'), text);
    }
    if (flags.json) io.stdout(text);
    else io.stdout(formatSensitivityTable(report));
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    io.stderr(`${report.rows.length} candidates in ${seconds} s${flags.out !== undefined ? `; wrote ${path.join(flags.out, 'sensitivity.json')}` : ''}\n`);
  });
}

export function registerMergeSensitivity(program: Command, io: Io): void {
  program
    .command('merge-sensitivity')
    .description('join the sensitivity.json of sensitivity shards into the one a single run writes')
    .argument('<files...>', 'sensitivity.json files of the shards')
    .requiredOption('--out <file>', 'the merged sensitivity.json')
    .action(async (files: string[], flags: { out: string }) => {
      refuseOverwritingInputs([flags.out], files);
      const merged = await mergeSensitivityFiles(files);
      writeFileAtomic(flags.out, sensitivityText(merged));
      io.stderr(`merged ${files.length} shards (${merged.rows.length} candidates) into ${flags.out}\n`);
    });
}
