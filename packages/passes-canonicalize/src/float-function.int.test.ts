import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalizeForFlow, floatAgreement, loadModel, Pipeline, type CalibrationSpec } from '@quantkit/core';
import { describe, expect, it } from 'vitest';
import { canonicalizePasses } from './plugin.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const pipeline = new Pipeline('canonicalize', 'canonicalize', canonicalizePasses);

/** Every fixture model with its calibration samples. */
const FIXTURES: [model: string, calib: string][] = [
  ['seed_small_single', 'seed'],
  ['seed_small_reuse', 'seed'],
  ['fpn_reuse', 'fpn_reuse'],
  ['ppocr_cls', 'ppocr_cls'],
  ['lcnet_dbnet', 'lcnet_dbnet'],
];

describe('the canonicalize passes keep the float function', () => {
  for (const [name, calib] of FIXTURES) {
    it(`${name}: every output of the canonical model within 1e-4 of the original's (relative to its range) on every sample`, async () => {
      const original = loadModel(path.join(root, 'fixtures/models', name, 'model.onnx'));
      const data: CalibrationSpec = { kind: 'dir', path: path.join(root, 'fixtures/calib', calib) };
      // As in the calibrate flow: the first sample fixes the symbolic dims.
      const result = await canonicalizeForFlow(original, { canonicalizePipeline: pipeline, data });
      const agreement = await floatAgreement(original, result.model, data);
      expect(Object.keys(agreement)).toEqual(original.graph.outputs.map((v) => v.name));
      for (const [output, a] of Object.entries(agreement)) expect(a.relative, `${name} ${output}`).toBeLessThanOrEqual(1e-4);
      expect(result.summary.ops.after.Constant ?? 0).toBe(0);
      expect(result.summary.ops.after.Identity ?? 0).toBe(0);
    });
  }
});
