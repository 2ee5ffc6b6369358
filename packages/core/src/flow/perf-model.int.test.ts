import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import { Tensor } from '../ir/tensor.js';
import { loadModel } from '../onnx/files.js';
import type { Pass } from '../pass/pass.js';
import { Pipeline } from '../pass/pass-manager.js';
import { testMarch } from '../perf/__fixtures__/test-march.js';
import { perfModel, perfModelKind } from './perf-model.js';

const root = path.resolve(__dirname, '../../../..');
const fixture = (name: string) => path.join(root, 'fixtures/models', name, 'model.onnx');
const march = testMarch();
const convertPipeline = new Pipeline('convert', 'convert', []);

/** A float model: x [n, 3, h, w] → Conv (3→8, 3×3) → Relu → y, with the dims given (symbolic ones as names). */
function floatConv(dims: (number | string)[]): Model {
  const b = new GraphBuilder('float-conv');
  const x = b.input('x', DataType.FLOAT, dims);
  const w = b.initializer('w', Tensor.fromArray(new Float32Array(8 * 3 * 9).fill(0.1), [8, 3, 3, 3]));
  const [conv] = b.node('Conv', [x, w], { name: 'conv', attributes: { pads: [1, 1, 1, 1], kernel_shape: [3, 3] } });
  const [y] = b.node('Relu', [conv], { name: 'relu' });
  b.output(y!, DataType.FLOAT);
  return b.model();
}

describe('perfModel case 1: the kind of model, and how it becomes integer IR', () => {
  it('tells float, QDQ and integer models apart', async () => {
    const float = floatConv([1, 3, 8, 8]);
    expect(perfModelKind(float)).toBe('float');
    const result = await perfModel({ model: float, march, convertPipeline });
    expect(result.kind).toBe('float');
    expect(result.report!.notes[0]).toMatch(/float model.*int8 template.*placeholder scales/);
    expect(result.report!.ops.find((o) => o.opType === 'Conv')).toMatchObject({ kind: 'gemm', unit: 'bpu', dtypes: 'int8×int8→int32' });
  });

  it('runs canonicalize on a clone before prepare, leaving the model as it was', async () => {
    const model = floatConv([1, 3, 8, 8]);
    const seen: Model[] = [];
    const spy: Pass = { info: { name: 'spy', phase: 'canonicalize', summary: 'records its model' }, run: async (m) => (seen.push(m), { model: m, modified: false }) };
    await perfModel({ model, march, convertPipeline, canonicalize: new Pipeline('canonicalize', 'canonicalize', [spy]) });
    expect(seen).toHaveLength(1);
    expect(seen[0]).not.toBe(model);
    expect([...model.graph].map((n) => n.opType)).toEqual(['Conv', 'Relu']);
  });

  // ppocr_cls is left out for time (its shapes need an onnxruntime run); `npm run bench -- perf-templates` covers it.
  it('costs int16 above int8 on the fixture models', async () => {
    for (const name of ['seed_small_single', 'seed_small_reuse', 'fpn_reuse', 'lcnet_dbnet']) {
      const model = loadModel(fixture(name));
      // lcnet_dbnet's symbolic height and width take a small size: the comparison does not depend on it.
      const inputShapes = name === 'lcnet_dbnet' ? { [model.graph.inputs[0]!.name]: [1, 3, 64, 64] } : undefined;
      const run = async (template: string) => (await perfModel({ model, march, convertPipeline, template, inputShapes })).report!;
      const [int8, int16] = [await run('int8'), await run('int16')];
      expect(int8.unknownShapes, name).toEqual([]);
      expect(int16.totals.latencyUs, name).toBeGreaterThan(int8.totals.latencyUs);
    }
  }, 120_000);
});

describe('perfModel case 2: compare and integerConv', () => {
  it('refuses them off nash-h and on integer IR (QK_USAGE)', async () => {
    const model = floatConv([1, 3, 8, 8]);
    await expect(perfModel({ model, march, convertPipeline, compare: true })).rejects.toMatchObject({ code: 'QK_USAGE', message: expect.stringMatching(/applies to nash-h/) });
  });
});

describe('perfModel case 3: shapes', () => {
  it('sizes symbolic input dims from inputShapes and names the shapes it used', async () => {
    const model = floatConv(['n', 3, 'h', 'w']);
    const without = await perfModel({ model, march, convertPipeline });
    expect(without.warnings[0]).toMatch(/no shape for .*x \[n, 3, h, w\]/);
    expect(without.inputShapes).toEqual({});
    const sized = await perfModel({ model, march, convertPipeline, inputShapes: { x: [2, 3, 16, 16] } });
    expect(sized.warnings).toEqual([]);
    expect(sized.inputShapes).toEqual({ x: [2, 3, 16, 16] });
    expect(sized.report!.unknownShapes).toEqual([]);
    expect(sized.report!.ops.find((o) => o.opType === 'Conv')!.macs).toBe(2 * 8 * 16 * 16 * 3 * 9);
  });

  it('refuses a shape for an input the model does not have', async () => {
    await expect(perfModel({ model: floatConv([1, 3, 8, 8]), march, convertPipeline, inputShapes: { image: [1, 3, 8, 8] } })).rejects.toMatchObject({
      code: 'QK_USAGE',
      message: expect.stringMatching(/no input 'image'.*inputs: x/),
    });
  });
});
