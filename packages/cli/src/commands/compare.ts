import fs from 'node:fs';
import path from 'node:path';
import { applyInputShapes, compare, loadModel, type CompareReport, type InputShape } from '@quantkit/core';
import type { Command } from 'commander';
import { dataSpec, inputShape, integer, positiveInt } from '../options.js';
import { table, type Io } from '../output.js';
import { progressBar } from '../progress.js';

export function formatCompare(report: CompareReport): string {
  const f = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
  const classifier = Object.values(report.outputs).some((m) => m.top1);
  const rows = [['output', 'SQNR dB', 'cosine', 'max abs', 'mean abs', 'worst sample (SQNR dB)', ...(classifier ? ['top-1 agreement'] : [])]];
  for (const [name, m] of Object.entries(report.outputs)) {
    const top1 = m.top1 ? `${m.top1.agree}/${m.top1.rows} (${((100 * m.top1.agree) / m.top1.rows).toFixed(1)} %)` : '';
    rows.push([name, f(m.sqnrDb), f(m.cosine, 6), m.maxAbs.toExponential(2), m.meanAbs.toExponential(2), `${m.worst.sample} (${f(m.worst.sqnrDb)})`, ...(classifier ? [top1] : [])]);
  }
  const lines = [
    `${report.test} against ${report.reference}, over all ${report.samples} samples (${report.data})`,
    table(rows),
  ];
  for (const [side, names] of [[report.reference, report.unmatched.reference], [report.test, report.unmatched.test]] as const) {
    if (names.length > 0) lines.push(`outputs only ${side} has (not compared): ${names.join(', ')}`);
  }
  return `${lines.join('\n')}\n`;
}

export function registerCompare(program: Command, io: Io): void {
  program
    .command('compare')
    .description(
      'run two models with the same inputs on the same samples and print per-output metrics of <b> against <a> (SQNR, cosine, max / mean abs error, top-1 agreement of classifier outputs, aggregated over all samples)',
    )
    .argument('<a>', 'the reference model, e.g. the float model')
    .argument('<b>', 'the model to measure, e.g. qat.onnx or quantized.onnx')
    .option('--calib <path>', 'samples: a folder of .npy (single-input models) or .npz files, or one such file')
    .option('--random <n>', 'N seeded standard-normal samples instead', positiveInt('--random'))
    .option('--seed <n>', 'seed for --random', integer, 0)
    .option('--input-shape <name=dims>', 'fix the shape of an input of both models, e.g. x=1x3x160x160 (repeatable)', inputShape)
    .option('--json', 'print the comparison as JSON on stdout')
    .action(async (a: string, b: string, flags: { calib?: string; random?: number; seed?: number; json?: boolean; inputShape?: InputShape[] }) => {
      const data = dataSpec(flags, fs);
      const models = [loadModel(a), loadModel(b)] as const;
      for (const model of models) applyInputShapes(model, flags.inputShape ?? []);
      const bar = progressBar(io, 'comparing');
      const report = await compare(models[0], models[1], data, {
        names: { reference: path.normalize(a), test: path.normalize(b) },
        onProgress: (e) => {
          bar.update(e.done, e.total, path.basename(e.sample));
          if (e.done === e.total) bar.end();
        },
      });
      io.stdout(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatCompare(report));
    });
}
