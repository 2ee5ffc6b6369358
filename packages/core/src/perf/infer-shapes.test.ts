import { describe, expect, it } from 'vitest';
import type { AttributeInput } from '../ir/attribute.js';
import { GraphBuilder } from '../ir/builder.js';
import { DataType } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';
import type { Dim } from '../ir/type-info.js';
import type { Value } from '../ir/value.js';
import { inferShapes } from './infer-shapes.js';

/** One op on an input of `dims` (plus constant inputs); the inferred shape of each output. */
function shapesOf(
  opType: string,
  dims: Dim[],
  options: { attributes?: Record<string, AttributeInput>; consts?: (Tensor | undefined)[]; inputs?: Dim[][]; outputs?: number; given?: Map<string, number[]> } = {},
): (readonly number[] | undefined)[] {
  const b = new GraphBuilder('g');
  const inputs: (Value | undefined)[] = [b.input('x', DataType.FLOAT, dims)];
  options.inputs?.forEach((d, i) => inputs.push(b.input(`x${i + 1}`, DataType.FLOAT, d)));
  options.consts?.forEach((t, i) => inputs.push(t === undefined ? undefined : b.initializer(`c${i}`, t)));
  const outputs = b.node(opType, inputs, { attributes: options.attributes, outputs: options.outputs });
  const shapes = inferShapes(b.graph, options.given);
  return outputs.map((v) => shapes.get(v));
}

const i64 = (values: number[]) => Tensor.fromArray(BigInt64Array.from(values.map(BigInt)), [values.length]);
const f32 = (values: number[]) => Tensor.fromArray(new Float32Array(values), [values.length]);

describe('inferShapes', () => {
  it('gives Conv outputs from pads, strides, dilations and the weight', () => {
    const w = Tensor.fromArray(new Float32Array(16 * 4 * 3 * 3), [16, 4, 3, 3]);
    expect(shapesOf('Conv', [1, 8, 32, 31], { consts: [w], attributes: { group: 2, pads: [1, 1, 1, 1], strides: [2, 2] } })).toEqual([[1, 16, 16, 16]]);
    expect(shapesOf('Conv', [1, 8, 32, 32], { consts: [w], attributes: { group: 2, dilations: [2, 2] } })).toEqual([[1, 16, 28, 28]]);
    expect(shapesOf('Conv', [1, 8, 33, 33], { consts: [w], attributes: { group: 2, auto_pad: 'SAME_UPPER', strides: [2, 2] } })).toEqual([[1, 16, 17, 17]]);
  });

  it('gives pooling outputs, with ceil_mode', () => {
    expect(shapesOf('MaxPool', [1, 3, 7, 7], { attributes: { kernel_shape: [2, 2], strides: [2, 2] } })).toEqual([[1, 3, 3, 3]]);
    expect(shapesOf('MaxPool', [1, 3, 7, 7], { attributes: { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 } })).toEqual([[1, 3, 4, 4]]);
    expect(shapesOf('GlobalAveragePool', [1, 3, 7, 7])).toEqual([[1, 3, 1, 1]]);
  });

  it('drops a ceil_mode window that would start in the end padding, as onnxruntime does', () => {
    // ceil((4 + 2 − 3) / 2) + 1 = 3 windows, but the third would start at 4, past the input.
    expect(shapesOf('MaxPool', [1, 1, 4, 4], { attributes: { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 0, 2, 2], ceil_mode: 1 } })).toEqual([[1, 1, 2, 2]]);
  });

  it('reduces the constant axes of a Reduce op; no shape for Reduce or Squeeze when the axes are computed', () => {
    expect(shapesOf('ReduceMean', [2, 3, 4], { consts: [i64([-1])], attributes: { keepdims: 0 } })).toEqual([[2, 3]]);
    expect(shapesOf('ReduceMean', [2, 3, 4], { inputs: [[1]] })).toEqual([undefined]);
    expect(shapesOf('Squeeze', [1, 3, 1], { inputs: [[1]] })).toEqual([undefined]);
  });

  it('normalises a negative Flatten axis against the input rank', () => {
    expect(shapesOf('Flatten', [2, 3, 4, 5], { attributes: { axis: -1 } })).toEqual([[24, 5]]);
  });

  it('clamps a negative-step Slice start into [0, dim − 1], as the ONNX spec and onnxruntime do', () => {
    expect(shapesOf('Slice', [10], { consts: [i64([-100]), i64([-1000]), i64([0]), i64([-1])] })).toEqual([[1]]);
  });

  it('gives MatMul (with batch broadcasting and 1-D operands) and Gemm (with transposes) outputs', () => {
    expect(shapesOf('MatMul', [2, 1, 5, 4], { inputs: [[3, 4, 6]] })).toEqual([[2, 3, 5, 6]]);
    expect(shapesOf('MatMul', [4], { inputs: [[4, 6]] })).toEqual([[6]]);
    expect(shapesOf('Gemm', [4, 8], { inputs: [[10, 8]], attributes: { transB: 1 } })).toEqual([[4, 10]]);
    expect(shapesOf('Gemm', [8, 4], { inputs: [[8, 10]], attributes: { transA: 1 } })).toEqual([[4, 10]]);
  });

  it('broadcasts elementwise inputs and keeps the shape through unary ops', () => {
    expect(shapesOf('Add', [2, 1, 4], { inputs: [[3, 1]] })).toEqual([[2, 3, 4]]);
    expect(shapesOf('Add', [2, 3], { inputs: [[4]] })).toEqual([undefined]);
    expect(shapesOf('LayerNormalization', [2, 100, 256])).toEqual([[2, 100, 256]]);
  });

  it('follows layout ops with constant arguments', () => {
    expect(shapesOf('Reshape', [2, 3, 4], { consts: [i64([0, -1])] })).toEqual([[2, 12]]);
    expect(shapesOf('Flatten', [2, 3, 4, 5], { attributes: { axis: 2 } })).toEqual([[6, 20]]);
    expect(shapesOf('Transpose', [2, 3, 4], { attributes: { perm: [2, 0, 1] } })).toEqual([[4, 2, 3]]);
    expect(shapesOf('Concat', [2, 3], { inputs: [[2, 5]], attributes: { axis: -1 } })).toEqual([[2, 8]]);
    expect(shapesOf('Squeeze', [1, 3, 1], { consts: [i64([0])] })).toEqual([[3, 1]]);
    expect(shapesOf('Unsqueeze', [3, 4], { consts: [i64([0, -1])] })).toEqual([[1, 3, 4, 1]]);
    expect(shapesOf('Slice', [10, 8], { consts: [i64([1, -3]), i64([100, 8]), i64([0, 1])] })).toEqual([[9, 3]]);
    expect(shapesOf('Slice', [10], { consts: [i64([-1]), i64([-100]), i64([0]), i64([-2])] })).toEqual([[5]]);
    expect(shapesOf('Split', [2, 10], { consts: [i64([3, 7])], attributes: { axis: 1 }, outputs: 2 })).toEqual([[2, 3], [2, 7]]);
    expect(shapesOf('Resize', [1, 3, 4, 4], { consts: [undefined, f32([1, 1, 2, 2])] })).toEqual([[1, 3, 8, 8]]);
    expect(shapesOf('Pad', [1, 3, 4, 4], { consts: [i64([0, 0, 1, 2, 0, 0, 1, 2])] })).toEqual([[1, 3, 6, 8]]);
  });

  it('leaves a shape it cannot know out, and takes given shapes first', () => {
    expect(shapesOf('Relu', ['batch', 4])).toEqual([undefined]);
    expect(shapesOf('Relu', ['batch', 4], { given: new Map([['x', [7, 4]]]) })).toEqual([[7, 4]]);
    expect(shapesOf('NonMaxSuppression', [1, 4, 4])).toEqual([undefined]);
  });
});
