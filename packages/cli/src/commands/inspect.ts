import { canonicalize, inspectModel, isQuantkitError, loadModel, type InspectReport, type InputShape, type TensorSummary } from '@quantkit/core';
import type { Command } from 'commander';
import { loadContext, pluginOptions } from '../context.js';
import { inputShape } from '../options.js';
import { formatBytes, table, type Io } from '../output.js';
import { histogramTable } from './canonicalize.js';

/** The graph after the canonicalize phase, or why it could not be canonicalized. */
export type CanonicalSummary =
  | { nodeCount: number; parameters: number; constantParameters: number; ops: Record<string, number> }
  | { error: string };

function shape(summary: TensorSummary): string {
  return summary.shape === null ? '(rank unknown)' : `[${summary.shape.map((d) => d ?? '?').join(', ')}]`;
}

export function formatInspect(file: string, report: InspectReport, canonical?: CanonicalSummary): string {
  const opsets = report.opsets.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ');
  const lines = [
    `${file}`,
    `  IR ${report.irVersion}; opsets ${opsets}${report.producer ? `; made by ${report.producer}` : ''}`,
    '',
    'inputs',
    table(report.inputs.map((t) => [t.name, t.dtype, shape(t)])),
    'outputs',
    table(report.outputs.map((t) => [t.name, t.dtype, shape(t)])),
    '',
    `nodes ${report.nodeCount}; parameters ${report.parameters.toLocaleString('en-US')} (${formatBytes(report.parameterBytes)})` +
      (report.constantParameters > 0
        ? `, and ${report.constantParameters.toLocaleString('en-US')} (${formatBytes(report.constantParameterBytes)}) in Constant nodes`
        : ''),
    ...(canonical === undefined
      ? [`ops  ${Object.entries(report.ops).map(([op, n]) => `${op} ${n}`).join(', ')}`]
      : 'error' in canonical
        ? [`ops  ${Object.entries(report.ops).map(([op, n]) => `${op} ${n}`).join(', ')}`, `(canonicalize failed: ${canonical.error})`]
        : ['', 'ops before and after canonicalize', histogramTable(report.ops, canonical.ops)]),
    '',
    `GEMM-like (${report.gemmLike.length}): quantized with int8 weights`,
    table(report.gemmLike.map((g) => [g.name || '(unnamed)', g.opType, g.weightShape ? `weight [${g.weightShape.join(', ')}]` : 'weight computed'])),
  ];
  if (report.unsupported.length === 0) {
    lines.push('', 'Every op has a quantization rule.');
  } else {
    lines.push('', 'Ops no march quantizes yet (they stay float, on the CPU):');
    lines.push(
      table(
        report.unsupported.map((u) => [
          u.domain ? `${u.domain}::${u.opType}` : u.opType,
          `${u.count}×`,
          u.nodes.slice(0, 3).join(', ') + (u.nodes.length > 3 ? ', …' : ''),
        ]),
      ),
    );
  }
  return lines.join('\n') + '\n';
}

export function registerInspect(program: Command, io: Io): void {
  pluginOptions(
    program
      .command('inspect')
      .description('summarise a model: inputs, outputs, opsets, ops before and after canonicalize, parameters, GEMM-like nodes, unsupported ops')
      .argument('<model>', 'an ONNX model file'),
  )
    .option('--input-shape <name=dims>', 'fix the shape of a model input for canonicalize, e.g. x=1x3x160x160 (repeatable)', inputShape)
    .option('--json', 'print the summary as JSON on stdout')
    .action(async (file: string, options: { json?: boolean; inputShape?: InputShape[]; config?: string; plugin?: string[] }) => {
      const model = loadModel(file);
      const report = inspectModel(model);
      const context = await loadContext(options, io);
      let canonical: CanonicalSummary;
      try {
        const result = await canonicalize(model, { pipeline: context.pipeline('canonicalize'), inputShapes: options.inputShape ?? [] });
        const after = inspectModel(result.model);
        canonical = { nodeCount: after.nodeCount, parameters: after.parameters, constantParameters: after.constantParameters, ops: after.ops };
      } catch (error) {
        // A flag the model contradicts is the user's error; a graph canonicalize cannot handle is only reported.
        if (!isQuantkitError(error) || error.code === 'QK_INPUT_SHAPE') throw error;
        canonical = { error: error.message };
      }
      io.stdout(options.json ? JSON.stringify({ file, ...report, canonical }, null, 2) + '\n' : formatInspect(file, report, canonical));
    });
}
