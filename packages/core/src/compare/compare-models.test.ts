import { describe, expect, it } from 'vitest';
import { isQuantkitError, type QuantkitError } from '../errors/quantkit-error.js';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import type { Dim } from '../ir/type-info.js';
import { checkSameInputs } from './compare-models.js';

function model(inputs: [string, number, Dim[]][]) {
  const b = new GraphBuilder('g');
  const values = inputs.map(([name, type, dims]) => b.input(name, type, dims));
  const [y] = b.node('Identity', [values[0]!]);
  b.output(y!, DataType.FLOAT, inputs[0]![2]);
  return b.model();
}

function mismatch(a: ReturnType<typeof model>, b: ReturnType<typeof model>): QuantkitError {
  try {
    checkSameInputs(a, b, { reference: 'a.onnx', test: 'b.onnx' });
  } catch (error) {
    if (isQuantkitError(error)) return error;
    throw error;
  }
  throw new Error('expected a mismatch');
}

const F = DataType.FLOAT;

describe('checkSameInputs', () => {
  it('accepts equal inputs in any order, and symbolic dims against fixed ones', () => {
    const a = model([['x', F, ['batch', 4]], ['y', F, [2]]]);
    const b = model([['y', F, [2]], ['x', F, [8, 4]]]);
    expect(() => checkSameInputs(a, b, { reference: 'a.onnx', test: 'b.onnx' })).not.toThrow();
  });

  it.each([
    ['a missing input', model([['x', F, [2]]]), model([['z', F, [2]]]), "b.onnx has no input 'x'"],
    ['an extra input', model([['x', F, [2]]]), model([['x', F, [2]], ['w', F, [2]]]), "a.onnx has no input 'w'"],
    ['another element type', model([['x', F, [2]]]), model([['x', DataType.DOUBLE, [2]]]), "input 'x' is float32[2] in a.onnx but float64[2] in b.onnx"],
    ['another fixed dim', model([['x', F, [1, 3]]]), model([['x', F, [1, 4]]]), 'float32[1, 3] in a.onnx but float32[1, 4]'],
    ['another rank', model([['x', F, [3]]]), model([['x', F, [1, 3]]]), 'float32[3] in a.onnx but float32[1, 3]'],
  ])('refuses %s with QK_MODEL_MISMATCH naming both models', (_what, a, b, message) => {
    const error = mismatch(a, b);
    expect(error.code).toBe('QK_MODEL_MISMATCH');
    expect(error.message).toContain('a.onnx and b.onnx do not take the same inputs');
    expect(error.message).toContain(message);
  });
});
