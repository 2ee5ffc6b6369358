import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalizeForFlow, cloneModel, floatAgreement, loadModel, Pipeline, type CalibrationSpec } from '@quantkit/core';
import { describe, expect, it } from 'vitest';
import { equalizeCrossLayer } from './equalize-cross-layer.js';
import { canonicalizePasses } from './plugin.js';
import { EQUALIZE_GRAPHS } from './testing/equalize-graphs.js';
import { maxRelativeError, runFloat } from './testing/run-float.js';
import { runPass } from './testing/run-pass.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

describe('equalize-cross-layer keeps the float function (onnxruntime)', () => {
  for (const [name, make] of Object.entries(EQUALIZE_GRAPHS)) {
    it(`${name}: outputs before and after agree within 1e-4 relative`, async () => {
      const { model, feeds } = make();
      const before = await runFloat(cloneModel(model), feeds);
      await runPass(equalizeCrossLayer, model);
      expect(maxRelativeError(before, await runFloat(model, feeds))).toBeLessThanOrEqual(1e-4);
    });
  }

  for (const [name, calib] of [['ppocr_cls', 'ppocr_cls'], ['lcnet_dbnet', 'lcnet_dbnet']] as const) {
    it(`${name}: the canonical model with equalization agrees with the original within 1e-4 on every sample`, async () => {
      const original = loadModel(path.join(root, 'fixtures/models', name, 'model.onnx'));
      const data: CalibrationSpec = { kind: 'dir', path: path.join(root, 'fixtures/calib', calib) };
      const pipeline = new Pipeline('canonicalize', 'canonicalize', [...canonicalizePasses, equalizeCrossLayer]);
      const result = await canonicalizeForFlow(original, { canonicalizePipeline: pipeline, data });
      expect(result.summary.passes.at(-1)).toEqual({ pass: 'equalize-cross-layer', modified: true });
      const agreement = await floatAgreement(original, result.model, data);
      for (const [output, a] of Object.entries(agreement)) expect(a.relative, `${name} ${output}`).toBeLessThanOrEqual(1e-4);
    });
  }
});
