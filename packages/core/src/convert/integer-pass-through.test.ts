import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../ir/builder.js';
import { cloneModel } from '../ir/clone.js';
import { DataType } from '../ir/dtype.js';
import { tensorElemType, tensorType } from '../ir/type-info.js';
import type { Value } from '../ir/value.js';
import { verifyModel } from '../ir/verify.js';
import { interpret } from '../integer/interpreter.js';
import { dequantize, floatFeed, quantize } from './__fixtures__/integer-graphs.js';
import { nodeNamed, opSequence } from './__fixtures__/qdq-graphs.js';
import { integerPassThrough } from './integer-pass-through.js';

/** input → Quantize(s) → Dequantize(s) → op → Quantize(s_out) → Dequantize → output. */
function around(op: (b: GraphBuilder, x: Value) => Value, options: { outScale?: number; dtype?: 'int8' | 'int16' } = {}) {
  const b = new GraphBuilder();
  const input = b.input('input', DataType.FLOAT, [1, 2, 4, 4]);
  const dtype = options.dtype ?? 'int8';
  const x = dequantize(b, quantize(b, input, 0.02, dtype, 'q_in'), [0.02], undefined, 'dq_in');
  const y = op(b, x);
  const q = quantize(b, y, options.outScale ?? 0.02, dtype, 'q_out');
  b.output(dequantize(b, q, [options.outScale ?? 0.02], undefined, 'dq_out'), DataType.FLOAT);
  return b.model();
}

const maxPool = (b: GraphBuilder, x: Value) =>
  b.node('MaxPool', [x], { name: 'pool', attributes: { kernel_shape: [2, 2], strides: [2, 2] } })[0]!;

describe('integerPassThrough', () => {
  it('1. Dequantize → MaxPool → Quantize of one scale: MaxPool runs on the integers, the pair goes', () => {
    const before = around(maxPool);
    const after = cloneModel(before);
    expect(integerPassThrough(after)).toBe(1);
    verifyModel(after);
    expect(opSequence(after)).toEqual(['quantkit::Quantize', 'MaxPool', 'quantkit::Dequantize']);
    const pool = nodeNamed(after, 'pool');
    expect(pool.inputs[0]!.name).toBe(nodeNamed(after, 'q_in').outputs[0]!.name);
    expect(tensorElemType(pool.outputs[0]!.type)).toBe(DataType.INT8);
    const feed = floatFeed('input', [1, 2, 4, 4], 2);
    expect(interpret(after, feed)).toEqual(interpret(before, feed));
  });

  it('6. MaxPool with an Indices output: the data output becomes integer, the int64 indices keep their type', () => {
    const m = around((b, x) => {
      const [pooled, indices] = b.node('MaxPool', [x], {
        name: 'pool',
        outputs: ['pooled', 'indices'],
        attributes: { kernel_shape: [2, 2], strides: [2, 2] },
      });
      indices!.type = tensorType(DataType.INT64, [1, 2, 2, 2]);
      b.node('Shape', [indices!], { name: 'indices_shape' });
      return pooled!;
    });
    expect(integerPassThrough(m)).toBe(1);
    verifyModel(m);
    const pool = nodeNamed(m, 'pool');
    expect(tensorElemType(pool.outputs[0]!.type)).toBe(DataType.INT8);
    expect(tensorElemType(pool.outputs[1]!.type)).toBe(DataType.INT64);
  });

  it('1. a nearest Resize runs on the integers (int8 and int16); a linear one stays a float op', () => {
    const resize = (mode: string) => (b: GraphBuilder, x: Value) => {
      const roi = b.initializer('roi', new Float32Array(0), [0]);
      const scales = b.initializer('scales', new Float32Array([1, 1, 2, 2]), [4]);
      return b.node('Resize', [x, roi, scales], { name: 'resize', attributes: { mode, coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' } })[0]!;
    };
    for (const dtype of ['int8', 'int16'] as const) {
      const before = around(resize('nearest'), { dtype });
      const after = cloneModel(before);
      expect(integerPassThrough(after)).toBe(1);
      verifyModel(after);
      expect(opSequence(after)).toEqual(['quantkit::Quantize', 'Resize', 'quantkit::Dequantize']);
      const feed = floatFeed('input', [1, 2, 4, 4], 2);
      expect(interpret(after, feed)).toEqual(interpret(before, feed));
    }
    expect(integerPassThrough(around(resize('linear')))).toBe(0);
  });

  it('1. a chain Reshape → Transpose becomes integer in one run', () => {
    const m = around((b, x) => {
      const shape = b.initializer('shape', new BigInt64Array([1n, 2n, 16n]), [3]);
      const [r] = b.node('Reshape', [x, shape], { name: 'reshape' });
      const rq = dequantize(b, quantize(b, r!, 0.02), [0.02]);
      return b.node('Transpose', [rq], { name: 'transpose', attributes: { perm: [0, 2, 1] } })[0]!;
    });
    expect(integerPassThrough(m)).toBe(2);
    expect(opSequence(m)).toEqual(['quantkit::Quantize', 'Reshape', 'Transpose', 'quantkit::Dequantize']);
  });

  it('2. Concat of equal scales is integer; of different scales it is not', () => {
    for (const [second, changed] of [
      [0.02, 1],
      [0.03, 0],
    ] as const) {
      const b = new GraphBuilder();
      const a = dequantize(b, quantize(b, b.input('a', DataType.FLOAT, [2, 3]), 0.02), [0.02]);
      const c = dequantize(b, quantize(b, b.input('c', DataType.FLOAT, [2, 3]), second), [second]);
      const [cat] = b.node('Concat', [a, c], { name: 'concat', attributes: { axis: 1 } });
      b.output(dequantize(b, quantize(b, cat!, 0.02), [0.02]), DataType.FLOAT);
      const m = b.model();
      expect(integerPassThrough(m)).toBe(changed);
    }
  });

  it('3. another output scale, a float reader, or a graph output leaves the op float', () => {
    expect(integerPassThrough(around(maxPool, { outScale: 0.04 }))).toBe(0);
    const b = new GraphBuilder();
    const x = dequantize(b, quantize(b, b.input('input', DataType.FLOAT, [1, 1, 2, 2]), 0.02), [0.02]);
    const [pool] = b.node('MaxPool', [x], { name: 'pool', attributes: { kernel_shape: [1, 1] } });
    b.output(dequantize(b, quantize(b, pool!, 0.02), [0.02]), DataType.FLOAT);
    b.output(b.node('Sigmoid', [pool!], { domain: 'quantkit' })[0]!, DataType.FLOAT);
    expect(integerPassThrough(b.model())).toBe(0);
    const c = new GraphBuilder();
    const y = dequantize(c, quantize(c, c.input('input', DataType.FLOAT, [2, 2]), 0.02), [0.02]);
    const [id] = c.node('Identity', [y]);
    quantize(c, id!, 0.02);
    c.output(id!, DataType.FLOAT);
    expect(integerPassThrough(c.model())).toBe(0);
  });

  it('4. Pad drops a zero constant_value; a non-zero one keeps it float', () => {
    const pad = (value: number) => (b: GraphBuilder, x: Value) => {
      const pads = b.initializer('pads', BigInt64Array.from([0, 0, 1, 1, 0, 0, 1, 1], BigInt), [8]);
      const constant = b.initializer('value', new Float32Array([value]), []);
      return b.node('Pad', [x, pads, constant], { name: 'pad' })[0]!;
    };
    const zero = around(pad(0), { dtype: 'int16' });
    expect(integerPassThrough(zero)).toBe(1);
    expect(nodeNamed(zero, 'pad').inputs).toHaveLength(2);
    expect(integerPassThrough(around(pad(0.5)))).toBe(0);
  });

  it('5. a per-channel Dequantize is left alone', () => {
    const b = new GraphBuilder();
    const x = dequantize(b, quantize(b, b.input('input', DataType.FLOAT, [1, 2, 2, 2]), 0.02), [0.02, 0.03], 1);
    const [pool] = b.node('MaxPool', [x], { name: 'pool', attributes: { kernel_shape: [1, 1] } });
    b.output(dequantize(b, quantize(b, pool!, 0.02), [0.02]), DataType.FLOAT);
    expect(integerPassThrough(b.model())).toBe(0);
  });
});
