import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseNpy } from '../data/npy.js';
import { cloneModel } from '../ir/clone.js';
import { Tensor } from '../ir/tensor.js';
import { SQNR_CAP_DB } from '../metrics/compare-tensors.js';
import { measureModels } from '../metrics/measure-models.js';
import { encodeModel } from '../onnx/encode.js';
import { loadModel } from '../onnx/files.js';
import { compare } from './compare-models.js';

const fixtures = new URL('../../../../fixtures/', import.meta.url);
const single = fileURLToPath(new URL('models/seed_small_single/model.onnx', fixtures));
const reuse = fileURLToPath(new URL('models/seed_small_reuse/model.onnx', fixtures));
const fpn = fileURLToPath(new URL('models/fpn_reuse/model.onnx', fixtures));
const calib = fileURLToPath(new URL('calib/seed/', fixtures));

function perturbed() {
  const model = loadModel(single);
  const copy = cloneModel(model);
  const weight = copy.graph.initializers.get('onnx::MatMul_21')!;
  weight.constValue = Tensor.fromArray(weight.constValue!.toFloat32().map((w, i) => w * (1 + 2e-3 * Math.sin(i))), weight.constValue!.dims);
  return { model, copy };
}

describe('compare', () => {
  it('a model against itself is identical on every sample', async () => {
    const model = loadModel(single);
    const report = await compare(model, encodeModel(model), { kind: 'dir', path: calib }, { threads: 1, names: { reference: 'a.onnx', test: 'b.onnx' } });
    expect(report).toMatchObject({ reference: 'a.onnx', test: 'b.onnx', samples: 4, unmatched: { reference: [], test: [] } });
    expect(report.outputs.z).toMatchObject({ sqnrDb: SQNR_CAP_DB, cosine: 1, maxAbs: 0, meanAbs: 0 });
  });

  it('aggregates over all samples: the SQNR lies within the per-sample ones, worst names the lowest', async () => {
    const { model, copy } = perturbed();
    const report = await compare(model, copy, { kind: 'dir', path: calib }, { threads: 1 });
    const perSample = new Map<string, number>();
    for (const file of readdirSync(calib).sort()) {
      const feeds = new Map([['input', parseNpy(readFileSync(calib + file), file)]]);
      const measured = await measureModels(model, copy, feeds, { threads: 1, graphOptimizationLevel: 'basic' });
      perSample.set(file, measured.outputs.z!.sqnrDb);
    }
    const z = report.outputs.z!;
    const sqnrs = [...perSample.values()];
    expect(z.sqnrDb).toBeGreaterThanOrEqual(Math.min(...sqnrs) - 1e-6);
    expect(z.sqnrDb).toBeLessThanOrEqual(Math.max(...sqnrs) + 1e-6);
    expect(z.sqnrDb).toBeLessThan(SQNR_CAP_DB);
    const lowest = [...perSample].sort((a, b) => a[1] - b[1])[0]!;
    expect(z.worst.sample).toBe(lowest[0]);
    expect(z.worst.sqnrDb).toBeCloseTo(lowest[1], 6);
  });

  it('pairs outputs by name and lists the unshared ones; random data works too', async () => {
    const report = await compare(loadModel(reuse), loadModel(single), { kind: 'random', count: 2, seed: 3 }, { threads: 1 });
    expect(Object.keys(report.outputs)).toEqual(['z']);
    expect(report.unmatched).toEqual({ reference: ['y'], test: [] });
    expect(report.samples).toBe(2);
    // The same weights: the reuse forward computes the same z.
    expect(report.outputs.z!.sqnrDb).toBeGreaterThan(100);
  });

  it('models with other inputs are QK_MODEL_MISMATCH', async () => {
    await expect(compare(loadModel(single), loadModel(fpn), { kind: 'random', count: 1 }, { names: { reference: 'seed.onnx', test: 'fpn.onnx' } })).rejects.toMatchObject({
      code: 'QK_MODEL_MISMATCH',
      message: expect.stringContaining('seed.onnx and fpn.onnx do not take the same inputs'),
    });
  });
});
