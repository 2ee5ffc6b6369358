import { inspectModel, loadModel, type InspectReport, type TensorSummary } from '@quantkit/core';
import type { Command } from 'commander';
import { formatBytes, table, type Io } from '../output.js';

function shape(summary: TensorSummary): string {
  return summary.shape === null ? '(rank unknown)' : `[${summary.shape.map((d) => d ?? '?').join(', ')}]`;
}

export function formatInspect(file: string, report: InspectReport): string {
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
    `nodes ${report.nodeCount}; parameters ${report.parameters.toLocaleString('en-US')} (${formatBytes(report.parameterBytes)})`,
    `ops  ${Object.entries(report.ops).map(([op, n]) => `${op} ${n}`).join(', ')}`,
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
  program
    .command('inspect')
    .description('summarise a model: inputs, outputs, opsets, ops, parameters, GEMM-like nodes, unsupported ops')
    .argument('<model>', 'an ONNX model file')
    .option('--json', 'print the summary as JSON on stdout')
    .action((file: string, options: { json?: boolean }) => {
      const report = inspectModel(loadModel(file));
      io.stdout(options.json ? JSON.stringify({ file, ...report }, null, 2) + '\n' : formatInspect(file, report));
    });
}
