import fs from 'node:fs';
import path from 'node:path';
import {
  createQuantkit,
  mergeCalibFiles,
  calibrateModel,
  calibrateShard,
  loadQuantConfig,
  readCalibFile,
  writeChunksAtomic,
  encodeModelChunks,
  writeFileAtomic,
  type CalibrateModelOptions,
  type CalibrateReport,
  type QuantConfig,
} from '@quantkit/core';
import { Option, type Command } from 'commander';
import { table, type Io } from '../output.js';
import { dataSpec, integer, positiveInt, shard } from '../options.js';
import { loadPlugins } from '../plugins.js';
import { progressBar } from '../progress.js';
import { version } from '../version.js';

export interface CalibrateFlags {
  calib?: string;
  random?: number;
  seed?: number;
  template?: string;
  observer: string;
  reusedOutputs?: 'rescale' | 'quantize';
  config?: string;
  workers?: number;
  shard?: { index: number; count: number };
  fromCalib?: string;
  plugin?: string[];
  out: string;
  json?: boolean;
}

/** Adds the options `calibrate` and `quantize` share. */
export function calibrationOptions(command: Command): Command {
  return command
    .option('--calib <path>', 'calibration data: a folder of .npy (single-input models) or .npz files, or one such file')
    .option('--random <n>', 'calibrate on N seeded standard-normal samples instead of data', positiveInt('--random'))
    .option('--seed <n>', 'seed for --random', integer, 0)
    .addOption(new Option('--template <name>', 'quantization template').choices(['int8', 'int16']))
    .addOption(new Option('--observer <kind>', 'activation observer').choices(['minmax', 'mse']).default('minmax'))
    .addOption(
      new Option('--reused-outputs <mode>', 'a GEMM output that is a model output and feeds other ops: int32 + rescale, or quantize it').choices([
        'rescale',
        'quantize',
      ]),
    )
    .option('--config <file>', 'JSON config: template, reusedOutputs, overrides by node name, glob or op type')
    .option('--workers <n>', 'calibrate in N worker threads', positiveInt('--workers'))
    .option('--from-calib <file>', 'use the observer states of a calib.json (e.g. from merge-calib) instead of calibrating')
    .option('--plugin <specifier...>', 'load a plugin package or file in addition to the official ones')
    .requiredOption('--out <dir>', 'output folder')
    .option('--json', 'print report.json on stdout instead of a table');
}

/** Everything the core flow needs, from the flags and the config file (flags win). */
export async function flowOptions(model: string, flags: CalibrateFlags, io: Io): Promise<CalibrateModelOptions> {
  const config: QuantConfig = flags.config ? await loadQuantConfig(flags.config) : {};
  const { quantkit, plugins, failures } = await loadPlugins(flags.plugin ?? []);
  for (const failure of failures) if (!failure.missing || (flags.plugin ?? []).includes(failure.specifier)) {
    io.stderr(`warning: plugin ${failure.specifier} did not load: ${failure.reason}\n`);
  }
  const observer = quantkit.observer(flags.observer);
  // Worker threads import the observer from the plugin that provides it.
  const provider = plugins.find((p) => createQuantkit({ plugins: [p.plugin] }).observers().some((o) => o.kind === flags.observer));
  const data = dataSpec(flags, fs);
  const bar = progressBar(io, 'calibrating');
  return {
    modelPath: model,
    data,
    template: flags.template ?? config.template ?? 'int8',
    observer,
    observerModule: provider?.specifier,
    reusedOutputs: flags.reusedOutputs ?? config.reusedOutputs ?? 'rescale',
    overrides: config.overrides,
    configText: flags.config ? fs.readFileSync(flags.config, 'utf8') : undefined,
    pipeline: quantkit.pipeline('prepare'),
    workers: flags.workers,
    calibration: flags.fromCalib ? await readCalibFile(flags.fromCalib) : undefined,
    version,
    onProgress: (e) => {
      bar.update(e.done, e.total, path.basename(e.sample));
      if (e.done === e.total) bar.end();
    },
  };
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
  calibrationOptions(
    program
      .command('calibrate')
      .description('prepare and calibrate a float model; write calib.json, qat.onnx (QDQ, opset 21) and report.json')
      .argument('<model>', 'the float ONNX model'),
  )
    .option('--shard <k/n>', 'calibrate only shard k of n and write only calib.json (combine with merge-calib)', shard)
    .action(async (model: string, flags: CalibrateFlags) => {
      const options = await flowOptions(model, flags, io);
      if (flags.shard) {
        const result = await calibrateShard(options, flags.shard);
        fs.mkdirSync(flags.out, { recursive: true });
        writeFileAtomic(path.join(flags.out, 'calib.json'), result.toText());
        io.stderr(`wrote ${path.join(flags.out, 'calib.json')} (shard ${flags.shard.index}/${flags.shard.count}, ${result.samples} samples)\n`);
        return;
      }
      const result = await calibrateModel(options);
      fs.mkdirSync(flags.out, { recursive: true });
      const reportText = `${JSON.stringify(result.report, null, 2)}\n`;
      writeFileAtomic(path.join(flags.out, 'calib.json'), result.calibration.toText());
      writeChunksAtomic(path.join(flags.out, 'qat.onnx'), encodeModelChunks(result.qat));
      writeFileAtomic(path.join(flags.out, 'report.json'), reportText);
      if (flags.json) io.stdout(reportText);
      else {
        io.stdout(formatMetricsTable(result.report, `${model}: qat.onnx against the float model (${result.report.measuredOn})`));
        io.stdout(`\nwrote calib.json, qat.onnx, report.json to ${flags.out}\n`);
      }
    });
}

export function registerMergeCalib(program: Command, io: Io): void {
  program
    .command('merge-calib')
    .description("merge the calib.json of calibration shards into one, equal to one run over all the data")
    .argument('<files...>', 'calib.json files of the shards')
    .requiredOption('--out <file>', 'the merged calib.json')
    .action(async (files: string[], flags: { out: string }) => {
      const { quantkit } = await loadPlugins([]);
      const merged = await mergeCalibFiles(files, (kind) => quantkit.observer(kind));
      writeFileAtomic(flags.out, merged.toText());
      io.stderr(`merged ${files.length} files (${merged.samples} samples) into ${flags.out}\n`);
    });
}
