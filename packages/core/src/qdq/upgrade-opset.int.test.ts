import { describe, expect, it } from 'vitest';
import { Attribute, type AttributeInput } from '../ir/attribute.js';
import { GraphBuilder } from '../ir/builder.js';
import { cloneModel } from '../ir/clone.js';
import { DataType } from '../ir/dtype.js';
import type { Model } from '../ir/model.js';
import { encodeModel } from '../onnx/encode.js';
import { upgradeOpset } from './upgrade-opset.js';

type Feed = { dims: number[]; data: Float32Array | BigInt64Array };

async function run(model: Model, feeds: Record<string, Feed>): Promise<Record<string, number[]>> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(encodeModel(model), { interOpNumThreads: 1, intraOpNumThreads: 1 });
  const ortFeeds = Object.fromEntries(
    Object.entries(feeds).map(([name, f]) => [
      name,
      new ort.Tensor(f.data instanceof Float32Array ? 'float32' : 'int64', f.data, f.dims),
    ]),
  );
  const results = await session.run(ortFeeds);
  await session.release();
  return Object.fromEntries(
    Object.entries(results).map(([name, t]) => [name, Array.from(t.data as ArrayLike<number | bigint>, Number)]),
  );
}

function ramp(dims: number[], offset = 0): Feed {
  const n = dims.reduce((a, b) => a * b, 1);
  return { dims, data: Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + offset) * 3) };
}

/**
 * Runs the old-opset model and its upgrade in onnxruntime (which still runs old opsets) on the same inputs: an
 * upgrade is right when the outputs agree.
 */
async function expectSameResults(model: Model, feeds: Record<string, Feed>, rewrittenOps: string[]): Promise<void> {
  const before = await run(model, feeds);
  const upgraded = cloneModel(model);
  const result = upgradeOpset(upgraded, 21);
  expect(result.rewritten.map((d) => d.replace(/^'[^']*' \((.*)\)$/, '$1'))).toEqual(rewrittenOps);
  expect(upgraded.opset).toBe(21);
  const after = await run(upgraded, feeds);
  expect(Object.keys(after)).toEqual(Object.keys(before));
  for (const name of Object.keys(before)) {
    const a = before[name]!;
    const b = after[name]!;
    expect(b.length, name).toBe(a.length);
    a.forEach((v, i) =>
      expect(Math.abs(v - b[i]!), `${name}[${i}]`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(v))),
    );
  }
}

function single(
  opset: number,
  op: string,
  dims: number[],
  attributes: Record<string, AttributeInput> = {},
  extra: (b: GraphBuilder) => (ReturnType<GraphBuilder['initializer']> | undefined)[] = () => [],
  outputs = 1,
) {
  const b = new GraphBuilder(`${op.toLowerCase()}_${opset}`);
  const x = b.input('x', DataType.FLOAT, dims);
  const results = b.node(op, [x, ...extra(b)], { name: 'n', attributes, outputs });
  results.forEach((r) => b.output(r));
  return b.model({ '': opset }, opset >= 11 ? 6 : 5);
}

describe('upgradeOpset keeps what onnxruntime computes', () => {
  it('Reduce* axes attributes (opset 11)', async () => {
    await expectSameResults(single(11, 'ReduceMean', [2, 3, 4], { axes: [1], keepdims: 0 }), { x: ramp([2, 3, 4]) }, [
      'ReduceMean',
    ]);
    await expectSameResults(single(11, 'ReduceSum', [2, 3, 4], { axes: [0, 2] }), { x: ramp([2, 3, 4]) }, [
      'ReduceSum',
    ]);
    await expectSameResults(single(11, 'ReduceMax', [2, 3, 4], { axes: [-1] }), { x: ramp([2, 3, 4]) }, ['ReduceMax']);
    await expectSameResults(single(11, 'ReduceL2', [2, 3, 4], { axes: [1] }), { x: ramp([2, 3, 4]) }, ['ReduceL2']);
  });

  it('Split with and without sizes, Squeeze / Unsqueeze axes (opset 11)', async () => {
    await expectSameResults(
      single(11, 'Split', [2, 3, 4], { axis: 1, split: [1, 2] }, () => [], 2),
      { x: ramp([2, 3, 4]) },
      ['Split'],
    );
    await expectSameResults(
      single(11, 'Split', [2, 3, 4], { axis: 1 }, () => [], 3),
      { x: ramp([2, 3, 4]) },
      ['Split'],
    );
    await expectSameResults(single(11, 'Squeeze', [2, 1, 4], { axes: [1] }), { x: ramp([2, 1, 4]) }, ['Squeeze']);
    await expectSameResults(single(11, 'Unsqueeze', [2, 4], { axes: [0, 3] }), { x: ramp([2, 4]) }, ['Unsqueeze']);
  });

  it('Clip-6, Pad-2 and Dropout ratio (opset 10)', async () => {
    await expectSameResults(
      single(10, 'Clip', [2, 5], { min: Attribute.float('min', 0), max: 1.5 }),
      { x: ramp([2, 5]) },
      ['Clip'],
    );
    await expectSameResults(single(10, 'Pad', [2, 3], { pads: [0, 1, 1, 2], value: 2.5 }), { x: ramp([2, 3]) }, [
      'Pad',
    ]);
    await expectSameResults(
      single(10, 'Pad', [1, 2, 3], { pads: [0, 0, 1, 0, 0, 1], mode: 'reflect' }),
      { x: ramp([1, 2, 3]) },
      ['Pad'],
    );
    await expectSameResults(single(10, 'Dropout', [2, 3], { ratio: 0.3 }), { x: ramp([2, 3]) }, ['Dropout']);
  });

  it('Slice-1 and TopK-1 (opset 9)', async () => {
    await expectSameResults(
      single(9, 'Slice', [3, 5], { starts: [1, 0], ends: [3, -1], axes: [0, 1] }),
      { x: ramp([3, 5]) },
      ['Slice'],
    );
    await expectSameResults(
      single(9, 'TopK', [2, 6], { k: 3, axis: 1 }, () => [], 2),
      { x: ramp([2, 6]) },
      ['TopK'],
    );
  });

  it('Softmax / LogSoftmax that flattened at axis (opset 11)', async () => {
    await expectSameResults(single(11, 'Softmax', [2, 3, 4], { axis: 1 }), { x: ramp([2, 3, 4]) }, ['Softmax']);
    await expectSameResults(single(11, 'LogSoftmax', [2, 3, 4]), { x: ramp([2, 3, 4]) }, ['LogSoftmax']);
    await expectSameResults(single(11, 'Softmax', [2, 3, 4], { axis: 2 }), { x: ramp([2, 3, 4]) }, []);
    await expectSameResults(single(11, 'Hardmax', [4, 5]), { x: ramp([4, 5]) }, ['Hardmax']);
  });

  it('Upsample-7 / -9 and Resize-10 as Resize', async () => {
    const scales = (values: number[]) => (b: GraphBuilder) =>
      [b.initializer('scales', new Float32Array(values), [values.length])];
    await expectSameResults(
      single(9, 'Upsample', [1, 1, 2, 3], { mode: 'nearest' }, scales([1, 1, 2, 3])),
      { x: ramp([1, 1, 2, 3]) },
      ['Upsample'],
    );
    await expectSameResults(
      single(9, 'Upsample', [1, 2, 3, 3], { mode: 'linear' }, scales([1, 1, 2, 2.5])),
      { x: ramp([1, 2, 3, 3]) },
      ['Upsample'],
    );
    await expectSameResults(
      single(7, 'Upsample', [1, 1, 2, 3], { mode: 'nearest', scales: Attribute.floats('scales', [1, 1, 3, 2]) }),
      { x: ramp([1, 1, 2, 3]) },
      ['Upsample'],
    );
    await expectSameResults(
      single(10, 'Resize', [1, 1, 3, 3], { mode: 'nearest' }, scales([1, 1, 2, 1.5])),
      { x: ramp([1, 1, 3, 3]) },
      ['Resize'],
    );
    await expectSameResults(
      single(10, 'Resize', [1, 1, 5, 7], { mode: 'nearest' }, scales([1, 1, 0.5, 0.6])),
      { x: ramp([1, 1, 5, 7]) },
      ['Resize'],
    );
    await expectSameResults(
      single(10, 'Resize', [1, 1, 4, 6], { mode: 'linear' }, scales([1, 1, 1.5, 0.5])),
      { x: ramp([1, 1, 4, 6]) },
      ['Resize'],
    );
  });

  it('Scatter-9, GridSample-16 and BatchNormalization-7 spatial', async () => {
    const scatter = single(10, 'Scatter', [3, 3], { axis: 1 }, (b) => [
      b.initializer('indices', new BigInt64Array([1n, 0n, 2n, 0n, 2n, 1n]), [2, 3]),
      b.initializer('updates', new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]),
    ]);
    await expectSameResults(scatter, { x: ramp([3, 3]) }, ['Scatter']);
    const grid = single(16, 'GridSample', [1, 1, 3, 4], { mode: 'bilinear', align_corners: 1 }, (b) => [
      b.initializer(
        'grid',
        Float32Array.from({ length: 12 }, (_, i) => Math.cos(i) * 0.9),
        [1, 2, 3, 2],
      ),
    ]);
    await expectSameResults(grid, { x: ramp([1, 1, 3, 4]) }, ['GridSample']);
    const bn = single(7, 'BatchNormalization', [1, 2, 3], { spatial: 1, epsilon: 1e-3 }, (b) => [
      b.initializer('scale', new Float32Array([1.5, 0.5]), [2]),
      b.initializer('bias', new Float32Array([0.1, -0.2]), [2]),
      b.initializer('mean', new Float32Array([0.3, 0.1]), [2]),
      b.initializer('var', new Float32Array([2, 0.5]), [2]),
    ]);
    await expectSameResults(bn, { x: ramp([1, 2, 3]) }, ['BatchNormalization']);
  });
});
