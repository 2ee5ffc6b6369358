import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { marchNashMPlugin } from '@quantkit/march-nash-m';
import { minMaxObserverFactory } from '@quantkit/observers';
import { outputPrecisionPlugin } from '@quantkit/passes-output-precision';
import { describe, expect, it } from 'vitest';
import { createQuantkit } from '../di/create-quantkit.js';
import { quantizeModel } from '../flow/quantize-model.js';

/**
 * The real-world graphs of the fixtures (lcnet_dbnet: a paddle2onnx-style text detector with ConvTranspose, nearest
 * Resize and Shape / Cast plumbing; ppocr_cls: a trained paddle2onnx classifier), int8, nash-m, through the whole
 * flow on one calibration sample: nothing falls back to the CPU, and every integer tensor agrees with its qat.onnx
 * twin within one step layer by layer.
 */

const fixtures = fileURLToPath(new URL('../../../../fixtures/', import.meta.url));
const quantkit = createQuantkit({ plugins: [outputPrecisionPlugin, marchNashMPlugin] });

async function quantize(name: string) {
  return quantizeModel({
    modelPath: join(fixtures, 'models', name, 'model.onnx'),
    data: { kind: 'file', path: join(fixtures, 'calib', name, 'input_000.npy') },
    template: 'int8',
    observer: minMaxObserverFactory,
    pipeline: quantkit.pipeline('prepare'),
    convertPipeline: quantkit.pipeline('convert'),
    march: quantkit.march('nash-m'),
    workers: 1,
    version: '0.0.0-test',
  });
}

describe('detector graphs on nash-m (int8)', () => {
  for (const name of ['lcnet_dbnet', 'ppocr_cls']) {
    it(`${name}: no CPU fallback, every layer within one step of qat.onnx`, async () => {
      const { report, quantized } = await quantize(name);
      expect(report.fallback).toEqual([]);
      const off = report.integer.layers.filter((l) => l.lsbAgreement < 1);
      expect(off).toEqual([]);
      expect(report.integer.layers.length).toBeGreaterThan(20);
      for (const metrics of Object.values(report.integer.outputs)) expect(metrics.lsbAgreementLayerwise).toBe(1);
      if (name === 'lcnet_dbnet') {
        const ops = quantized.graph.nodes().map((n) => `${n.domain}::${n.opType}`);
        expect(ops.filter((op) => op === 'quantkit::ConvTranspose')).toHaveLength(2);
        // The nearest Resizes run on the integer codes (no Dequantize / Quantize around them).
        const resizes = quantized.graph.nodes().filter((n) => n.opType === 'Resize');
        expect(resizes.length).toBe(2);
        for (const resize of resizes) expect(resize.domain).toBe('');
        for (const resize of resizes) expect(resize.inputs[0]!.producer()?.opType).not.toBe('Dequantize');
      }
    }, 120_000);
  }
});
