import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { NpyArray } from '../data/npy.js';
import { parseNpy } from '../data/npy.js';
import { IntegerGraphBuilder } from '../integer/integer-builder.js';
import { GraphBuilder } from '../ir/builder.js';
import { cloneModel } from '../ir/clone.js';
import { DataType } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';
import { encodeModel } from '../onnx/encode.js';
import { loadModel } from '../onnx/files.js';
import { SQNR_CAP_DB } from './compare-tensors.js';
import { measureModels } from './measure-models.js';

const fixtures = new URL('../../../../fixtures/', import.meta.url);
const seedModel = fileURLToPath(new URL('models/seed_small_single/model.onnx', fixtures));
const sample = fileURLToPath(new URL('calib/seed/input_000.npy', fixtures));
const feeds = new Map<string, NpyArray>([['input', parseNpy(readFileSync(sample), sample)]]);
const twins = [
  { float: 'input', quantized: 'input' },
  { float: '/linear1/Add_output_0', quantized: '/linear1/Add_output_0' },
  { float: '/linear2/Add_output_0', quantized: '/linear2/Add_output_0' },
];

describe('measureModels', () => {
  it('measures a model against itself as identical', async () => {
    const model = await loadModel(seedModel);
    const report = await measureModels(model, encodeModel(model), feeds, { twins, threads: 1 });
    expect(report.outputs).toEqual({ z: { sqnrDb: SQNR_CAP_DB, cosine: 1, maxAbs: 0, meanAbs: 0 } });
    expect(report.layers).toHaveLength(3);
    for (const layer of report.layers) expect(layer).toMatchObject({ sqnrDb: SQNR_CAP_DB, cosine: 1, maxAbs: 0 });
    // Ties sort by name.
    expect(report.layers.map((l) => l.tensor)).toEqual(['/linear1/Add_output_0', '/linear2/Add_output_0', 'input']);
    expect(model.graph.outputs.map((v) => v.name)).toEqual(['z']);
  });

  it('finds a perturbed weight downstream of it only, worst layer first', async () => {
    const model = await loadModel(seedModel);
    const perturbed = cloneModel(model);
    const weight = perturbed.graph.initializers.get('onnx::MatMul_21')!;
    const original = weight.constValue!.toFloat32();
    weight.constValue = Tensor.fromArray(
      original.map((w, i) => w * (1 + 1e-3 * Math.sin(i))),
      weight.constValue!.dims,
    );
    const report = await measureModels(model, perturbed, feeds, { twins, threads: 1 });
    const z = report.outputs.z!;
    expect(z.sqnrDb).toBeGreaterThan(30);
    expect(z.sqnrDb).toBeLessThan(SQNR_CAP_DB);
    expect(z.cosine).toBeLessThan(1);
    expect(z.cosine).toBeGreaterThan(0.999);
    expect(z.maxAbs).toBeGreaterThan(0);
    const byName = new Map(report.layers.map((l) => [l.tensor, l]));
    expect(byName.get('/linear1/Add_output_0')!.sqnrDb).toBe(SQNR_CAP_DB);
    expect(byName.get('/linear2/Add_output_0')!.sqnrDb).toBeLessThan(SQNR_CAP_DB);
    expect(report.layers[0]!.tensor).toBe('/linear2/Add_output_0');
    const sqnrs = report.layers.map((l) => l.sqnrDb);
    expect(sqnrs).toEqual([...sqnrs].sort((a, b) => a - b));
    // The model given is not changed.
    expect(model.graph.initializers.get('onnx::MatMul_21')!.constValue!.toFloat32()).toEqual(original);
  });

  it('refuses a test model without one of the reference outputs', async () => {
    const model = await loadModel(seedModel);
    const renamed = cloneModel(model);
    renamed.graph.outputs[0]!.name = 'z_renamed';
    await expect(measureModels(model, renamed, feeds, { testName: 'qat.onnx' })).rejects.toThrow(
      /qat\.onnx has no output 'z'/,
    );
  });
});

describe('measureModels on an integer model', () => {
  it('runs a model with quantkit ops through its lowering: x → Quantize(1/64, int8) → Dequantize against x', async () => {
    const f = new GraphBuilder('float');
    const fx = f.input('x', DataType.FLOAT, [4]);
    const [fy] = f.node('Identity', [fx], { name: 'id', outputs: ['y'] });
    f.output(fy!);
    const b = new IntegerGraphBuilder('int');
    const x = b.input('x', DataType.FLOAT, [4]);
    const y = b.dequantize(b.quantize(x, { scale: 1 / 64, dtype: 'int8' }), { scale: 1 / 64 });
    y.name = 'y';
    b.output(y);
    const data = Float32Array.from([0.01, -0.5, 1.99, 3]);
    const report = await measureModels(f.model(), b.model(), new Map([['x', { dtype: 'float32', shape: [4], data } as NpyArray]]), { threads: 1 });
    // 3 saturates at 127/64; 0.01 rounds to 0: the integer model ran, not its float twin.
    expect(report.outputs.y!.maxAbs).toBeCloseTo(3 - 127 / 64, 6);
  });
});
