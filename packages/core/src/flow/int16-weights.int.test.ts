import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { marchNashMPlugin } from '@quantkit/march-nash-m';
import { minMaxObserverFactory } from '@quantkit/observers';
import { outputPrecisionPlugin } from '@quantkit/passes-output-precision';
import { describe, expect, it } from 'vitest';
import { createQuantkit } from '../di/create-quantkit.js';
import { isIntegerGemm } from '../convert/integer-nodes.js';
import { DataType } from '../ir/dtype.js';
import type { Override } from '../prepare/overrides.js';
import { quantizeModel } from './quantize-model.js';

/**
 * int16 weights through the whole flow on fpn_reuse (one calibration sample, nash-m): int16 activations with int8
 * weights, then int16 weights on one GEMM (an override on c3, which lies before head only), then on every GEMM that
 * may have them (template int16w; p1, p2 and head are high-precision outputs and keep int8 weights). Each step
 * raises the integer model's SQNR of every output it reaches, and every integer tensor agrees with its qat.onnx twin within one step, layer by layer.
 */

const fixtures = fileURLToPath(new URL('../../../../fixtures/', import.meta.url));
const quantkit = createQuantkit({ plugins: [outputPrecisionPlugin, marchNashMPlugin] });

async function quantize(template: string, overrides: Override[] = []) {
  return quantizeModel({
    modelPath: join(fixtures, 'models', 'fpn_reuse', 'model.onnx'),
    data: { kind: 'file', path: join(fixtures, 'calib', 'fpn_reuse', 'input_000.npy') },
    template,
    overrides,
    observer: minMaxObserverFactory,
    pipeline: quantkit.pipeline('prepare'),
    convertPipeline: quantkit.pipeline('convert'),
    march: quantkit.march('nash-m'),
    workers: 1,
    version: '0.0.0-test',
  });
}

describe('int16 weights on fpn_reuse (nash-m)', () => {
  it('one layer, then all: the integer SQNR rises on every output, layer-wise agreement stays 100 %', async () => {
    const base = await quantize('int16');
    const one = await quantize('int16', [{ node: '/c3/c3.0/Conv', weight: 'qint16' }]);
    const all = await quantize('int16w');

    const int16Weights = (result: typeof base) =>
      result.quantized.graph
        .nodes()
        .filter((n) => isIntegerGemm(n) && n.inputs[1]?.constValue?.dtype === DataType.INT16)
        .map((n) => n.name)
        .sort();
    expect(int16Weights(base)).toEqual([]);
    expect(int16Weights(one)).toEqual(['/c3/c3.0/Conv']);
    expect(int16Weights(all)).toEqual(['/c3/c3.0/Conv', '/lat/lat.0/Conv', '/stem/stem.0/Conv']);
    // int16 × int16: the accumulator is shifted (integer-ops.ts); the high-precision GEMMs keep int8 weights and no shift.
    const conv = all.quantized.graph.nodes().find((n) => n.name === '/c3/c3.0/Conv')!;
    expect(conv.attribute('acc_shift')?.asNumber()).toBe(8);
    expect(all.quantized.graph.nodes().find((n) => n.name === '/head/Conv')!.attribute('acc_shift')).toBeUndefined();

    // c3 lies before head only; stem before every output.
    for (const output of ['p1', 'p2', 'head']) {
      const sqnr = [base, one, all].map((r) => r.report.integer.outputs[output]!.sqnrDb);
      if (output === 'head') expect(sqnr[1]!, `${output}: ${sqnr.join(' / ')}`).toBeGreaterThan(sqnr[0]!);
      else expect(sqnr[1]!).toBe(sqnr[0]!);
      expect(sqnr[2]!, `${output}: ${sqnr.join(' / ')}`).toBeGreaterThan(sqnr[1]!);
      for (const r of [one, all]) expect(r.report.integer.outputs[output]!.lsbAgreementLayerwise).toBe(1);
    }
    for (const r of [one, all]) for (const layer of r.report.integer.layers) expect(layer.lsbAgreement, layer.tensor).toBe(1);
    // The template's int16 weights stop at the high-precision outputs, and prepare says so.
    expect(all.report.diagnostics.some((d) => d.message.includes('keep qint8 weights (/c1/c1.0/Conv, /c2/c2.0/Conv, /head/Conv)'))).toBe(true);
  }, 120_000);
});
