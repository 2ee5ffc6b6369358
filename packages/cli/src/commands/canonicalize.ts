import {
  canonicalize,
  loadModel,
  saveModel,
  type CanonicalizeResult,
  type InputShape,
} from '@quantkit/core';
import type { Command } from 'commander';
import { loadContext, pluginOptions } from '../context.js';
import { inputShape } from '../options.js';
import { table, type Io } from '../output.js';
import { refuseOverwritingInputs } from '../outputs.js';
import { printPipelines } from '../print-pipeline.js';

interface CanonicalizeFlags {
  out: string;
  inputShape?: InputShape[];
  config?: string;
  plugin?: string[];
  json?: boolean;
  printPipeline?: boolean;
}

/** The op histograms side by side: every op type of either graph, with its count before and after. */
export function histogramTable(before: Record<string, number>, after: Record<string, number>): string {
  const ops = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  ops.sort((a, b) => (before[b] ?? 0) - (before[a] ?? 0) || (after[b] ?? 0) - (after[a] ?? 0) || a.localeCompare(b));
  const total = (h: Record<string, number>) => Object.values(h).reduce((s, n) => s + n, 0);
  return table([
    ['op', 'before', 'after'],
    ...ops.map((op) => [op, String(before[op] ?? 0), String(after[op] ?? 0)]),
    ['(all)', String(total(before)), String(total(after))],
  ]);
}

function formatResult(file: string, out: string, result: CanonicalizeResult): string {
  const shapes = Object.entries(result.inputShapes).map(([name, s]) => `${name} ${s.shape.join('x')} (from ${s.from})`);
  const lines = [
    `${file}: canonicalize (${result.summary.passes.map((p) => `${p.pass}${p.modified ? '' : ' (no change)'}`).join(', ') || 'no passes'})`,
    `input shapes: ${shapes.join(', ') || 'none fixed'}`,
    histogramTable(result.summary.ops.before, result.summary.ops.after),
  ];
  const notes = result.diagnostics.filter((d) => d.level === 'warning');
  if (notes.length > 0) lines.push('', ...notes.map((d) => `warning (${d.pass}): ${d.message}`));
  lines.push('', `wrote ${out}`);
  return lines.join('\n') + '\n';
}

export function registerCanonicalize(program: Command, io: Io): void {
  pluginOptions(
    program
      .command('canonicalize')
      .description('run the canonicalize phase (constant folding, BN / affine folding, one op per activation) and write the float model')
      .argument('<model>', 'the float ONNX model (read, never written)'),
  )
    .option('--input-shape <name=dims>', 'fix the shape of a model input, e.g. x=1x3x160x160 (repeatable)', inputShape)
    .requiredOption('--out <file>', 'the canonical float model')
    .option('--print-pipeline', 'print the canonicalize passes in order, with their plugins; exit 0 without running')
    .option('--json', 'print what canonicalize did (passes, op histograms, input shapes, diagnostics) as JSON')
    .action(async (file: string, flags: CanonicalizeFlags) => {
      refuseOverwritingInputs([flags.out], [file, ...(flags.config ? [flags.config] : [])]);
      const context = await loadContext(flags, io);
      if (flags.printPipeline) {
        printPipelines(context, ['canonicalize'], io, flags.json === true);
        return;
      }
      const result = await canonicalize(loadModel(file), {
        pipeline: context.pipeline('canonicalize'),
        inputShapes: flags.inputShape ?? [],
      });
      saveModel(result.model, flags.out);
      if (flags.json) {
        const { passes, ops, nodes } = result.summary;
        const report = { file, out: flags.out, inputShapes: result.inputShapes, passes, ops, nodes, diagnostics: result.diagnostics };
        io.stdout(`${JSON.stringify(report, null, 2)}\n`);
      } else {
        io.stdout(formatResult(file, flags.out, result));
      }
    });
}
