import { DataType, Node, Value, type AttributeInput } from '@quantkit/core';
import { describe, expect, it } from 'vitest';
import type { ConstantValue, Scalar } from './constant-value.js';
import { EVALUATORS, NotFoldable } from './evaluate-op.js';

const i64 = (values: number[], dims = [values.length]): ConstantValue => ({ dtype: DataType.INT64, dims, data: values.map(BigInt) });
const f32 = (values: number[], dims = [values.length]): ConstantValue => ({ dtype: DataType.FLOAT, dims, data: values });

function evaluate(opType: string, inputs: (ConstantValue | undefined)[], attributes: Record<string, AttributeInput> = {}, shape?: number[]) {
  const node = new Node({ opType, attributes, inputs: inputs.map((_, i) => new Value(`in${i}`)), outputs: 1 });
  const [out] = EVALUATORS[opType]!({ node, inputs, shape });
  return { dims: out!.dims, data: out!.data as Scalar[], dtype: out!.dtype };
}

describe('evaluate-op', () => {
  it('Shape honours start / end; Size counts elements', () => {
    expect(evaluate('Shape', [undefined], { start: 1, end: -1 }, [2, 3, 4, 5]).data).toEqual([3n, 4n]);
    expect(evaluate('Size', [undefined], {}, [2, 3]).data).toEqual([6n]);
  });

  it('Gather takes negative indices and keeps the index rank', () => {
    const r = evaluate('Gather', [f32([0, 1, 2, 3, 4, 5], [3, 2]), i64([-1, 0], [1, 2])], { axis: 0 });
    expect([r.dims, r.data]).toEqual([[1, 2, 2], [4, 5, 0, 1]]);
  });

  it('Squeeze / Unsqueeze / Slice read the attribute forms of old opsets as well as the inputs', () => {
    expect(evaluate('Squeeze', [f32([1, 2], [1, 2, 1])]).dims).toEqual([2]);
    expect(evaluate('Unsqueeze', [f32([1, 2])], { axes: [0, -1] }).dims).toEqual([1, 2, 1]);
    const sliced = evaluate('Slice', [i64([1, 3, 48, 192])], { starts: [2], ends: [1_000_000], axes: [0] });
    expect(sliced.data).toEqual([48n, 192n]);
  });

  it('Reshape copies a 0 dim unless allowzero; -1 takes the rest', () => {
    expect(evaluate('Reshape', [f32([1, 2, 3, 4, 5, 6], [2, 3]), i64([0, -1])]).dims).toEqual([2, 3]);
    expect(() => evaluate('Reshape', [f32([1, 2], [2]), i64([0, 2])], { allowzero: 1 })).toThrow(NotFoldable);
  });

  it('comparisons give bool; Where and Expand broadcast', () => {
    const eq = evaluate('Equal', [i64([-1, 2, -1]), i64([-1])]);
    expect([eq.dtype, eq.data]).toEqual([DataType.BOOL, [1, 0, 1]]);
    expect(evaluate('Where', [eq, i64([7]), i64([1, 2, 3])]).data).toEqual([7n, 2n, 7n]);
    expect(evaluate('Expand', [f32([1, 2], [2, 1]), i64([2, 3])]).data).toEqual([1, 1, 1, 2, 2, 2]);
  });

  it('float32 arithmetic rounds each result to float32, as onnxruntime computes it', () => {
    expect(evaluate('Div', [f32([1]), f32([3])]).data).toEqual([Math.fround(1 / 3)]);
    expect(evaluate('Sqrt', [f32([2])]).data).toEqual([Math.fround(Math.SQRT2)]);
  });

  it('Cast truncates floats toward zero and wraps integers; int32 Mul wraps as in C', () => {
    expect(evaluate('Cast', [f32([-1.9, 1.9])], { to: DataType.INT64 }).data).toEqual([-1n, 1n]);
    expect(evaluate('Cast', [i64([2 ** 31])], { to: DataType.INT32 }).data).toEqual([-(2 ** 31)]);
    const big = { dtype: DataType.INT32, dims: [1], data: [65536] };
    expect(evaluate('Mul', [big, big]).data).toEqual([0]);
  });
});
