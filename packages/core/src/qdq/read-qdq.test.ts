import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';
import { scaleFromAmax } from '../quant/numerics.js';
import { attachPlan, gemmGroup, nodeNamed, qparamsFromAmax, quant } from './__fixtures__/plans.js';
import { exportQdq } from './export-qdq.js';
import { assertSymmetricQdq, dequantizedValue, findQdqPairs, readQdqParams } from './read-qdq.js';
import { errorOf } from '../testing/error-of.js';

/** quantkit's own qat.onnx for x → MatMul(w) + Add(b) → y, int16 activations. */
function exported() {
  const b = new GraphBuilder('g');
  const x = b.input('x', DataType.FLOAT, [2, 3]);
  const w = b.initializer('w', new Float32Array([1, -2, 0.5, 3, 0, -1]), [3, 2]);
  const bias = b.initializer('b', new Float32Array([0.25, -0.5]), [2]);
  const [m] = b.node('MatMul', [x, w], { name: 'mm' });
  const [y] = b.node('Add', [m!, bias], { name: 'add', outputs: ['y'] });
  b.output(y!);
  const model = b.model();
  attachPlan(model, {
    groups: [gemmGroup(nodeNamed(model, 'mm'))],
    activations: [quant(x, 'qint16'), quant(y!, 'qint16')],
  });
  return exportQdq(model, (v) => qparamsFromAmax(v.name === 'x' ? 2 : 4, 'qint16')).model;
}

/** A QuantizeLinear → DequantizeLinear pair written by another tool: uint8 with a zero point, 1-D scale. */
function foreign(zeroPoint: number) {
  const b = new GraphBuilder('foreign');
  const x = b.input('x', DataType.FLOAT, [4]);
  const scale = b.initializer('s', new Float32Array([0.1]), []);
  const zp = b.initializer('zp', new Uint8Array([zeroPoint]), []);
  const [q] = b.node('QuantizeLinear', [x, scale, zp], { name: 'q' });
  const [dq] = b.node('DequantizeLinear', [q!, scale, zp], { name: 'dq' });
  b.output(dq!);
  return b.model({ '': 13 }, 7);
}

describe('read-qdq', () => {
  it('finds quantkit pairs with their scale, zero point, dtype and axis', () => {
    const model = exported();
    const pairs = findQdqPairs(model.graph);
    expect(pairs.map((p) => p.input.name)).toEqual(['x', 'y_float']);
    const [first] = pairs;
    expect(first!.quantizeParams).toEqual({
      dtype: DataType.INT16,
      scale: new Float32Array([scaleFromAmax(2, 'qint16')]),
      zeroPoint: [0],
      axis: undefined,
    });
    expect(first!.dequantizeParams).toEqual(first!.quantizeParams);
    expect(first!.output.uses()[0]!.node.name).toBe('mm');
    expect(assertSymmetricQdq(model)).toBe(6);
  });

  it('tells activations, constant weights and biases apart at a GEMM input', () => {
    const model = exported();
    const mm = nodeNamed(model, 'mm');
    const input = dequantizedValue(mm.inputs[0]);
    expect(input?.kind).toBe('activation');
    expect(input?.kind === 'activation' && input.source.name).toBe('x');
    const weight = dequantizedValue(mm.inputs[1]);
    expect(weight?.kind).toBe('constant');
    if (weight?.kind !== 'constant') return;
    expect(weight.tensor.dtype).toBe(DataType.INT8);
    expect(weight.params.axis).toBe(1);
    expect(weight.params.scale).toHaveLength(2);
    const bias = dequantizedValue(nodeNamed(model, 'add').inputs[1]);
    expect(bias?.kind === 'constant' && bias.params.dtype).toBe(DataType.INT32);
    expect(dequantizedValue(model.graph.inputs[0])).toBeUndefined();
  });

  it('reads a foreign symmetric model: scale from a Constant node, uint8 default type, negative axis', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', DataType.FLOAT, [2, 3]);
    const [scale] = b.node('Constant', [], {
      name: 'c',
      attributes: { value: Tensor.fromArray(new Float32Array([0.5, 0.25, 1]), [3]) },
    });
    const [q] = b.node('QuantizeLinear', [x, scale!], { name: 'q', attributes: { axis: -1 } });
    const [dq] = b.node('DequantizeLinear', [q!, scale!], { name: 'dq', attributes: { axis: -1 } });
    b.output(dq!);
    const model = b.model({ '': 13 });
    const [pair] = findQdqPairs(model.graph);
    expect(pair!.quantizeParams).toEqual({
      dtype: DataType.UINT8,
      scale: new Float32Array([0.5, 0.25, 1]),
      zeroPoint: [0, 0, 0],
      axis: 1,
    });
    expect(pair!.dequantizeParams.dtype).toBe(DataType.UINT8);
    expect(findQdqPairs(foreign(0).graph)[0]!.quantizeParams.dtype).toBe(DataType.UINT8);
  });

  it('refuses an asymmetric model with QK_ASYMMETRIC_QDQ naming the node and tensor', () => {
    const error = errorOf(() => assertSymmetricQdq(foreign(128)));
    expect(error?.code).toBe('QK_ASYMMETRIC_QDQ');
    expect(error?.message).toContain("'q' (QuantizeLinear)");
    expect(error?.message).toContain('tensor x');
    expect(error?.message).toContain('zero point 128');
    expect(errorOf(() => findQdqPairs(foreign(3).graph))?.code).toBe('QK_ASYMMETRIC_QDQ');
    const allowed = findQdqPairs(foreign(3).graph, { allowAsymmetric: true });
    expect(allowed[0]!.quantizeParams.zeroPoint).toEqual([3]);
  });

  it('refuses run-time scales and blocked quantization with QK_UNSUPPORTED', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', DataType.FLOAT, [4]);
    const s = b.input('s', DataType.FLOAT, []);
    const [q] = b.node('QuantizeLinear', [x, s], { name: 'q' });
    b.output(q!);
    expect(errorOf(() => assertSymmetricQdq(b.model()))?.message).toContain('run time');
    const blocked = foreign(0);
    nodeNamed(blocked, 'q').setAttribute('block_size', 2);
    expect(errorOf(() => assertSymmetricQdq(blocked))?.code).toBe('QK_UNSUPPORTED');
  });
});
