import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../onnx/files.js';
import { encodeModel } from '../onnx/encode.js';
import { constantTensor } from './constants.js';
import { findGemmGroups } from './fuse-gemm.js';
import { prepare } from './prepare.js';

const fixture = (name: string) => fileURLToPath(new URL(`../../../../fixtures/models/${name}/model.onnx`, import.meta.url));

describe('prepare on the fixture models', () => {
  it.each(['seed_small_single', 'seed_small_reuse'])('%s: fuses linear1/2/3 with the bias of Add(bias, x), weight axis 1', async (name) => {
    const model = await loadModel(fixture(name));
    const { groups, unfused } = findGemmGroups(model.graph);
    expect(unfused).toEqual([]);
    expect(groups.map((g) => g.nodes.map((n) => n.name))).toEqual([
      ['/linear1/MatMul', '/linear1/Add'],
      ['/linear2/MatMul', '/linear2/Add'],
      ['/linear3/MatMul', '/linear3/Add'],
    ]);
    for (const [i, g] of groups.entries()) {
      const linear = `linear${i + 1}`;
      expect(g.kind).toBe('MatMul');
      expect(g.weightAxis).toBe(1);
      expect(g.bias?.name).toBe(`${linear}.bias`);
      expect(g.biasAdd?.input(0)).toBe(g.bias);
      expect(constantTensor(g.weight)?.dims[1]).toBe(constantTensor(g.bias)?.dims[0]);
    }
    expect(groups[1]!.output.name).toBe(name === 'seed_small_reuse' ? 'y' : '/linear2/Add_output_0');
    expect(groups[2]!.output.name).toBe('z');
  });

  it('fpn_reuse: every conv is a group, stem and c3 with their Relu fused; p1 and p2 end their groups', async () => {
    const model = await loadModel(fixture('fpn_reuse'));
    const { groups } = findGemmGroups(model.graph);
    const summary = groups.map((g) => [g.node.name, g.activation?.opType, g.output.name, g.weightAxis, g.bias !== undefined]);
    expect(summary).toEqual([
      ['/stem/stem.0/Conv', 'Relu', '/stem/stem.2/Relu_output_0', 0, true],
      ['/c1/c1.0/Conv', undefined, 'p1', 0, true],
      ['/c2/c2.0/Conv', undefined, 'p2', 0, true],
      ['/c3/c3.0/Conv', 'Relu', '/c3/c3.2/Relu_output_0', 0, true],
      ['/lat/lat.0/Conv', undefined, '/lat/lat.0/Conv_output_0', 0, true],
      ['/head/Conv', undefined, 'head', 0, true],
    ]);
  });

  it('fpn_reuse: quantizes the input, each group output and the elementwise outputs; not the Resize scales', async () => {
    const model = await loadModel(fixture('fpn_reuse'));
    const { plan, diagnostics } = await prepare(model, { template: 'int16' });
    expect(diagnostics).toEqual([]);
    expect([...plan.activations.keys()].map((v) => v.name)).toEqual([
      'input',
      '/stem/stem.2/Relu_output_0',
      'p1',
      'p2',
      '/c3/c3.2/Relu_output_0',
      '/Add_output_0',
      '/up/Resize_output_0',
      '/lat/lat.0/Conv_output_0',
      '/Add_1_output_0',
      '/relu/Relu_output_0',
      'head',
    ]);
  });

  it.each(['seed_small_single', 'seed_small_reuse', 'fpn_reuse'])('%s: prepare does not modify its input', async (name) => {
    const model = await loadModel(fixture(name));
    const before = encodeModel(model);
    await prepare(model, { template: 'int16', overrides: [{ node: '*', dtype: 'float' }] });
    // Buffer.equals: a deep toEqual over 300 kB of bytes is slow.
    expect(Buffer.from(encodeModel(model)).equals(Buffer.from(before))).toBe(true);
  });

  it('seed_small_single: overrides by glob and op type reach the group output', async () => {
    const model = await loadModel(fixture('seed_small_single'));
    const { plan } = await prepare(model, {
      template: 'int8',
      overrides: [
        { node: '/linear2/*', dtype: 'qint16' },
        { opType: 'LayerNormalization', dtype: 'float' },
      ],
    });
    const byName = new Map([...plan.activations.values()].map((a) => [a.value.name, a]));
    expect(byName.get('/linear2/Add_output_0')?.dtype).toBe('qint16');
    expect([...plan.float].map((v) => v.name)).toEqual(['/layernorm/LayerNormalization_output_0']);
    expect(byName.get('/linear1/Add_output_0')?.dtype).toBe('qint8');
  });
});
