import {
  Attribute,
  DataType,
  decodeMultiplier,
  dequantizeAttributes,
  floatsAttribute,
  GraphBuilder,
  interpret,
  intAttribute,
  intsAttribute,
  quantizeAttributes,
  stringAttribute,
  Tensor,
  type Model,
  type NpyArray,
  type PassContext,
  type Value,
} from '@quantkit/core';
import { describe, expect, it } from 'vitest';
import { dequantQuantToRescale } from './dequant-quant-to-rescale.js';

const context: PassContext = { march: 'nash-m', options: {}, diagnose: () => undefined };
const named = (attributes: Attribute[]) => Object.fromEntries(attributes.map((a) => [a.name, a]));
const quantize = (b: GraphBuilder, x: Value, scale: number, dtype: 'int8' | 'int16', name?: string) =>
  b.node('Quantize', [x], { domain: 'quantkit', name, attributes: named(quantizeAttributes({ scale, dtype, unit: 'bpu' })) })[0]!;
const dequantize = (b: GraphBuilder, q: Value, scale: number[], axis?: number, name?: string) =>
  b.node('Dequantize', [q], { domain: 'quantkit', name, attributes: named(dequantizeAttributes({ scale, axis, unit: 'bpu' })) })[0]!;

const W_SCALE = [0.01, 0.02, 0.015];
const ACC_SCALE = W_SCALE.map((w) => Math.fround(Math.fround(0.05) * Math.fround(w)));

/**
 * The seed's case 2 after lowering: input → Quantize → MatMul (int32) → Dequantize (y, per channel) → Quantize(s2)
 * → MatMul → Dequantize (z); y is a graph output when `reuse`.
 */
function seed(reuse: boolean): Model {
  const b = new GraphBuilder();
  const x = quantize(b, b.input('input', DataType.FLOAT, [2, 4]), 0.05, 'int8');
  const acc = b.node(
    'MatMul',
    [x, b.initializer('w2', Tensor.fromArray(new Int8Array([1, -2, 3, 4, 5, -6, 7, 8, -9, 10, 11, 12]), [4, 3]))],
    {
      domain: 'quantkit',
      name: 'linear2',
      attributes: {
        out_dtype: Attribute.string('out_dtype', 'int32'),
        x_scale: Attribute.float('x_scale', 0.05),
        w_scale: Attribute.floats('w_scale', W_SCALE),
      },
    },
  )[0]!;
  const y = dequantize(b, acc, ACC_SCALE, -1, 'linear2_dequantize');
  const yq = quantize(b, y, 0.004, 'int16', 'y_quantize');
  const [flat] = b.node('Reshape', [yq, b.initializer('shape', new BigInt64Array([3n, 2n]), [2])]);
  const acc3 = b.node('MatMul', [flat!, b.initializer('w3', Tensor.fromArray(new Int8Array([3, -1, 2, 5]), [2, 2]))], {
    domain: 'quantkit',
    name: 'linear3',
    attributes: {
      out_dtype: Attribute.string('out_dtype', 'int32'),
      x_scale: Attribute.float('x_scale', 0.004),
      w_scale: Attribute.floats('w_scale', [0.1, 0.1]),
    },
  })[0]!;
  b.output(dequantize(b, acc3, [Math.fround(Math.fround(0.004) * Math.fround(0.1))]), DataType.FLOAT);
  if (reuse) b.output(y, DataType.FLOAT);
  return b.model();
}

const feed = (): Map<string, NpyArray> => {
  const data = Float32Array.from({ length: 8 }, (_, i) => Math.sin(i * 1.7) * 6);
  return new Map([['input', { dtype: 'float32', shape: [2, 4], data }]]);
};

const ops = (model: Model) => model.graph.nodes().map((n) => n.opType);

describe('dequant-quant-to-rescale', () => {
  it('1. Dequantize read only by a Quantize: one per-channel Rescale, M_c = s1_c / s2, the Dequantize goes', () => {
    const model = seed(false);
    const before = interpret(model, feed(), { keepIntermediates: true }).get('y_quantize_out0');
    const { modified } = dequantQuantToRescale.run(model, context) as { modified: boolean };
    expect(modified).toBe(true);
    expect(ops(model)).toEqual(['Quantize', 'MatMul', 'Rescale', 'Reshape', 'MatMul', 'Dequantize']);
    const rescale = model.graph.nodes()[2]!;
    expect(stringAttribute(rescale, 'out_dtype')).toBe('int16');
    expect(intAttribute(rescale, 'axis')).toBe(-1);
    expect(floatsAttribute(rescale, 'out_scale')).toEqual([Math.fround(0.004)]);
    expect(stringAttribute(rescale, 'unit')).toBe('bpu');
    const multiplier = intsAttribute(rescale, 'multiplier')!;
    const shift = intsAttribute(rescale, 'shift')!;
    multiplier.forEach((m, c) => expect(decodeMultiplier(m, shift[c]!)).toBeCloseTo(ACC_SCALE[c]! / Math.fround(0.004), 6));
    // 3. …and the integers agree with dequantize-then-quantize within one LSB.
    const after = interpret(model, feed(), { keepIntermediates: true }).get('y_quantize_out0');
    const a = before!.data as Int16Array;
    const b = after!.data as Int16Array;
    expect(b).toHaveLength(a.length);
    b.forEach((v, i) => expect(Math.abs(v - a[i]!)).toBeLessThanOrEqual(1));
  });

  it('2. the float tensor is also a graph output: the Dequantize stays for it and the Quantize still becomes a Rescale', () => {
    const model = seed(true);
    dequantQuantToRescale.run(model, context);
    expect(ops(model)).toEqual(['Quantize', 'MatMul', 'Dequantize', 'Rescale', 'Reshape', 'MatMul', 'Dequantize']);
    const acc = model.graph.nodes()[1]!.outputs[0]!;
    expect(acc.uses().map((u) => u.node.opType)).toEqual(['Dequantize', 'Rescale']);
    expect(model.graph.outputs[1]!.producer()!.opType).toBe('Dequantize');
    expect(model.graph.nodes().some((n) => n.opType === 'Quantize' && n.inputs[0]!.producer()?.opType === 'Dequantize')).toBe(false);
  });

  it('4. equal scales and type: the Quantize goes without a Rescale', () => {
    const b = new GraphBuilder();
    const q = quantize(b, b.input('input', DataType.FLOAT, [3]), 0.1, 'int8');
    const again = quantize(b, dequantize(b, q, [0.1]), 0.1, 'int8');
    b.output(dequantize(b, again, [0.1]), DataType.FLOAT);
    const model = b.model();
    dequantQuantToRescale.run(model, context);
    expect(ops(model)).toEqual(['Quantize', 'Dequantize']);
    expect(model.graph.nodes()[1]!.inputs[0]).toBe(q);
  });

  it('4. equal scales but another type still rescale (int8 → int16)', () => {
    const b = new GraphBuilder();
    const q = quantize(b, b.input('input', DataType.FLOAT, [3]), 0.1, 'int8');
    const wide = quantize(b, dequantize(b, q, [0.1]), 0.1, 'int16');
    b.output(dequantize(b, wide, [0.1]), DataType.FLOAT);
    const model = b.model();
    dequantQuantToRescale.run(model, context);
    expect(ops(model)).toEqual(['Quantize', 'Rescale', 'Dequantize']);
  });

  it('5. a Quantize that does not read a Dequantize is unchanged', () => {
    const b = new GraphBuilder();
    const q = quantize(b, b.input('input', DataType.FLOAT, [3]), 0.1, 'int8');
    b.output(dequantize(b, q, [0.1]), DataType.FLOAT);
    const model = b.model();
    expect((dequantQuantToRescale.run(model, context) as { modified: boolean }).modified).toBe(false);
  });

  it('runs after float-output', () => {
    expect(dequantQuantToRescale.info).toMatchObject({ phase: 'convert', after: ['float-output'] });
  });
});
