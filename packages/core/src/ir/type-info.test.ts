import Long from 'long';
import { describe, expect, it } from 'vitest';
import { decodeModel } from '../onnx/decode.js';
import { encodeModel } from '../onnx/encode.js';
import { GraphBuilder } from './builder.js';
import { DataType } from './dtype.js';
import { tensorElemType, tensorShape, tensorType } from './type-info.js';

describe('tensorType / tensorShape', () => {
  it('builds a tensor type from numbers, symbolic names and unknown dims, and reads it back', () => {
    const type = tensorType(DataType.FLOAT, [1, 'N', undefined]);
    expect(type).toEqual({ tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimValue: 1 }, { dimParam: 'N' }, {}] } } });
    expect(tensorElemType(type)).toBe(DataType.FLOAT);
    expect(tensorShape(type)).toEqual([1, 'N', undefined]);
  });

  it('without dims the rank is unknown; [] is a scalar', () => {
    expect(tensorShape(tensorType(DataType.INT8))).toBeUndefined();
    expect(tensorShape(tensorType(DataType.INT8, []))).toEqual([]);
    expect(tensorShape(undefined)).toBeUndefined();
    expect(tensorElemType({ sequenceType: {} })).toBeUndefined();
  });

  it('reads Long dim values', () => {
    expect(tensorShape({ tensorType: { shape: { dim: [{ dimValue: Long.fromNumber(7) }] } } })).toEqual([7]);
  });

  it('reads decoded types: symbolic and unknown dims stay symbolic and unknown', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', DataType.FLOAT16, ['N', 3, undefined, 0]);
    b.output(x);
    const decoded = decodeModel(encodeModel(b.model())).graph.inputs[0]!;
    expect(tensorElemType(decoded.type)).toBe(DataType.FLOAT16);
    expect(tensorShape(decoded.type)).toEqual(['N', 3, undefined, 0]);
  });
});
