import { convert, loadModel, saveModel } from '@quantkit/core';
import type { Command } from 'commander';
import { loadContext, pluginOptions } from '../context.js';
import type { Io } from '../output.js';
import { refuseOverwritingInputs } from '../outputs.js';

export function registerConvert(program: Command, io: Io): void {
  pluginOptions(
    program
      .command('convert')
      .description("convert a symmetric QDQ model (qat.onnx) to the march's integer model (quantized.onnx)")
      .argument('<qat>', 'a QDQ ONNX model: quantkit calibrate\'s qat.onnx, or a symmetric one from another tool'),
  )
    .requiredOption('--march <name>', 'target march: nash-m (J6E / J6M) or nash-h (J6P / J6H), from its installed plugin')
    .option('--integer-conv', 'nash-h: int32 output + rescale as on nash-m, instead of float32 outputs')
    .requiredOption('--out <file>', 'the integer model to write')
    .option('--json', 'print the fallback list and pass timings as JSON')
    .action(async (file: string, flags: { march: string; integerConv?: boolean; config?: string; plugin?: string[]; out: string; json?: boolean }) => {
      refuseOverwritingInputs([flags.out], [file]);
      const context = await loadContext(flags, io);
      const march = context.quantkit.march(flags.march);
      const result = await convert(loadModel(file), {
        march,
        pipeline: context.pipeline('convert', march.name),
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
