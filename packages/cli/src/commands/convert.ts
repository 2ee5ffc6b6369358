import { convert, loadModel, saveModel } from '@quantkit/core';
import { Option, type Command } from 'commander';
import type { Io } from '../output.js';
import { loadPlugins } from '../plugins.js';

export function registerConvert(program: Command, io: Io): void {
  program
    .command('convert')
    .description("convert a symmetric QDQ model (qat.onnx) to the march's integer model (quantized.onnx)")
    .argument('<qat>', 'a QDQ ONNX model: quantkit calibrate\'s qat.onnx, or a symmetric one from another tool')
    .addOption(new Option('--march <name>', 'target march').choices(['nash-m', 'nash-h']).makeOptionMandatory())
    .option('--integer-conv', 'nash-h: int32 output + rescale as on nash-m, instead of float32 outputs')
    .option('--plugin <specifier...>', 'load a plugin package or file in addition to the official ones')
    .requiredOption('--out <file>', 'the integer model to write')
    .option('--json', 'print the fallback list and pass timings as JSON')
    .action(async (file: string, flags: { march: string; integerConv?: boolean; plugin?: string[]; out: string; json?: boolean }) => {
      const { quantkit } = await loadPlugins(flags.plugin ?? []);
      const march = quantkit.march(flags.march);
      const result = await convert(loadModel(file), {
        march,
        pipeline: quantkit.pipeline('convert'),
        integerConv: flags.integerConv ?? false,
        name: file,
      });
      saveModel(result.model, flags.out);
      if (flags.json) {
        io.stdout(`${JSON.stringify({ march: march.name, integerConv: flags.integerConv ?? false, fallback: result.fallback, diagnostics: result.diagnostics }, null, 2)}\n`);
        return;
      }
      io.stdout(`wrote ${flags.out} (${march.name}${flags.integerConv ? ', integer conv' : ''})\n`);
      if (result.fallback.length === 0) io.stdout('no CPU fallback: every op has a BPU or VPU lowering\n');
      else for (const f of result.fallback) io.stdout(`CPU fallback: ${f.node} (${f.opType}): ${f.reason}\n`);
    });
}
