import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';
import { inputSpecs, npyDtypeOf } from './model-io.js';

describe('inputSpecs', () => {
  it('lists the inputs calibration data must feed, skipping initializers listed as inputs', () => {
    const b = new GraphBuilder();
    const x = b.input('x', DataType.FLOAT, ['batch', 3, undefined]);
    const ids = b.input('ids', DataType.INT64, [4]);
    const w = b.initializer('w', Tensor.fromArray(new Float32Array(1), [1]));
    b.graph.addInput(w);
    const [y] = b.node('Mul', [x, w]);
    b.output(y!);
    b.output(ids);
    expect(inputSpecs(b.model())).toEqual([
      { name: 'x', dtype: 'float32', shape: ['batch', 3, undefined] },
      { name: 'ids', dtype: 'int64', shape: [4] },
    ]);
  });

  it('refuses inputs that .npy files cannot feed', () => {
    const half = new GraphBuilder();
    half.input('h', DataType.FLOAT16, [2]);
    expect(() => inputSpecs(half.model())).toThrow(/input 'h' is a float16 tensor/);
    const noShape = new GraphBuilder();
    noShape.input('s', DataType.FLOAT);
    expect(() => inputSpecs(noShape.model())).toThrow(/input 's' has no shape/);
  });

  it('refuses a declared dim no tensor can have (negative, as int64 2^63 reads back, or past 2^53)', () => {
    for (const dim of [-(2 ** 63), 2 ** 60]) {
      const b = new GraphBuilder();
      b.output(b.input('x', DataType.FLOAT, [1, dim]));
      expect(() => inputSpecs(b.model())).toThrow(/input 'x' declares the dim/);
    }
  });

  it('maps ONNX element types to numpy dtypes', () => {
    expect(npyDtypeOf(DataType.FLOAT)).toBe('float32');
    expect(npyDtypeOf(DataType.BOOL)).toBe('bool');
    expect(npyDtypeOf(DataType.BFLOAT16)).toBeUndefined();
  });
});
