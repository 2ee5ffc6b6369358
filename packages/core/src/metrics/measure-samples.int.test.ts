import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openCalibrationSource, type CalibrationSource } from '../data/calibration-data.js';
import { cloneModel } from '../ir/clone.js';
import { Tensor } from '../ir/tensor.js';
import { loadModel } from '../onnx/files.js';
import { inputSpecs } from '../runtime/model-io.js';
import { compareTensors } from './compare-tensors.js';
import { measureModels } from './measure-models.js';
import { measureSamples } from './measure-samples.js';

const fixtures = new URL('../../../../fixtures/', import.meta.url);
const seedModel = fileURLToPath(new URL('models/seed_small_single/model.onnx', fixtures));
const calib = fileURLToPath(new URL('calib/seed', fixtures));
const twins = [
  { float: '/linear1/Add_output_0', quantized: '/linear1/Add_output_0' },
  { float: '/linear2/Add_output_0', quantized: '/linear2/Add_output_0' },
];

async function models() {
  const model = await loadModel(seedModel);
  const perturbed = cloneModel(model);
  const weight = perturbed.graph.initializers.get('onnx::MatMul_21')!;
  const original = weight.constValue!.toFloat32();
  weight.constValue = Tensor.fromArray(original.map((w, i) => w * (1 + 1e-3 * Math.sin(i))), weight.constValue!.dims);
  return { model, perturbed };
}

const concat = (parts: Float32Array[]) => Float32Array.from(parts.flatMap((p) => [...p]));

describe('measureSamples', () => {
  it('2. aggregates every sample: the metrics of the samples laid end to end, for each test model of one run', async () => {
    const { model, perturbed } = await models();
    const source = await openCalibrationSource({ kind: 'dir', path: calib }, inputSpecs(model));
    const refs: Float32Array[] = [];
    const tests: Float32Array[] = [];
    const ids: string[] = [];
    const measured = await measureSamples(
      model,
      [
        { model: perturbed, name: 'perturbed', twins },
        { model, name: 'itself' },
      ],
      source,
      {
        threads: 1,
        onSample: ({ sample, reference, tests: runs }) => {
          ids.push(sample.id);
          refs.push(reference.get('z')!.data as Float32Array);
          tests.push(runs[0]!.get('z')!.data as Float32Array);
        },
      },
    );
    expect(measured.samples).toBe(source.count);
    expect(ids).toHaveLength(source.count);
    expect(source.count).toBeGreaterThan(1);
    const expected = compareTensors(concat(refs), concat(tests));
    const z = measured.reports[0]!.outputs.z!;
    expect(z.sqnrDb).toBeCloseTo(expected.sqnrDb, 9);
    expect(z.cosine).toBeCloseTo(expected.cosine, 12);
    expect(z.maxAbs).toBe(expected.maxAbs);
    expect(z.meanAbs).toBeCloseTo(expected.meanAbs, 12);
    // Not the first sample's figure alone.
    const first = compareTensors(refs[0]!, tests[0]!);
    expect(z.sqnrDb).not.toBeCloseTo(first.sqnrDb, 6);
    // The model against itself: identical on every sample.
    expect(measured.reports[1]!.outputs.z!.maxAbs).toBe(0);
    // Layers: downstream of the perturbed weight only, worst first.
    const layers = measured.reports[0]!.layers;
    expect(layers.map((l) => l.tensor)).toEqual(['/linear2/Add_output_0', '/linear1/Add_output_0']);
    expect(layers[1]!.maxAbs).toBe(0);
  });

  it('2. on one sample it gives what measureModels gives', async () => {
    const { model, perturbed } = await models();
    const all = await openCalibrationSource({ kind: 'dir', path: calib }, inputSpecs(model));
    let first: Awaited<ReturnType<typeof firstOf>> | undefined;
    async function firstOf(s: CalibrationSource) {
      for await (const sample of s.samples()) return sample;
      throw new Error('no samples');
    }
    first = await firstOf(all);
    const one: CalibrationSource = { description: 'one', count: 1, samples: async function* () { yield first!; } };
    const measured = await measureSamples(model, [{ model: perturbed, name: 'perturbed', twins }], one, { threads: 1 });
    const single = await measureModels(model, perturbed, first.inputs, { twins, threads: 1, graphOptimizationLevel: 'basic' });
    expect(measured.reports[0]!.outputs.z!.sqnrDb).toBeCloseTo(single.outputs.z!.sqnrDb, 9);
    expect(measured.reports[0]!.layers[0]!.sqnrDb).toBeCloseTo(single.layers[0]!.sqnrDb, 9);
  });

  it('3. refuses a test model without a reference output, and data without samples', async () => {
    const { model } = await models();
    const renamed = cloneModel(model);
    renamed.graph.outputs[0]!.name = 'z_renamed';
    const empty: CalibrationSource = { description: 'nothing', count: 0, samples: async function* () {} };
    await expect(measureSamples(model, [{ model: renamed, name: 'qat.onnx' }], empty)).rejects.toThrow(/qat\.onnx has no output 'z'/);
    await expect(measureSamples(model, [{ model, name: 'same' }], empty, { threads: 1 })).rejects.toMatchObject({ code: 'QK_CALIB_DATA' });
  });
});
