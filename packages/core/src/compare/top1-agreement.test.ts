import { describe, expect, it } from 'vitest';
import { addTop1, top1Counts } from './top1-agreement.js';

const t = (dims: number[], values: number[]) => ({ dims, data: Float32Array.from(values) });

describe('top1Counts', () => {
  it('case 1: counts rows of a [rows, classes] output whose argmax agrees', () => {
    const a = t([3, 3], [0.1, 0.8, 0.1, 0.9, 0.05, 0.05, 0.2, 0.3, 0.5]);
    const b = t([3, 3], [0.2, 0.7, 0.1, 0.1, 0.85, 0.05, 0.1, 0.2, 0.7]);
    expect(top1Counts(a, b)).toEqual({ agree: 2, rows: 3 });
  });

  it('case 1: a feature map, a vector or a single class is not a classifier output', () => {
    expect(top1Counts(t([1, 2, 2], [1, 2, 3, 4]), t([1, 2, 2], [1, 2, 3, 4]))).toBeUndefined();
    expect(top1Counts(t([4], [1, 2, 3, 4]), t([4], [1, 2, 3, 4]))).toBeUndefined();
    expect(top1Counts(t([2, 1], [1, 2]), t([2, 1], [1, 2]))).toBeUndefined();
  });

  it('case 2: the first maximum wins a tie; a NaN row agrees with nothing', () => {
    expect(top1Counts(t([1, 3], [1, 1, 0]), t([1, 3], [1, 0.5, 0]))).toEqual({ agree: 1, rows: 1 });
    expect(top1Counts(t([1, 3], [1, 1, 0]), t([1, 3], [0.5, 1, 0]))).toEqual({ agree: 0, rows: 1 });
    expect(top1Counts(t([2, 2], [NaN, 1, 1, 0]), t([2, 2], [NaN, 1, 1, 0]))).toEqual({ agree: 1, rows: 2 });
  });

  it('case 3: different dims give no count', () => {
    expect(top1Counts(t([1, 3], [1, 2, 3]), t([3, 1], [1, 2, 3]))).toBeUndefined();
  });

  it('works on integer outputs', () => {
    const a = { dims: [2, 2], data: Int32Array.from([5, -3, -1, 7]) };
    expect(top1Counts(a, { dims: [2, 2], data: Int32Array.from([4, 1, 2, 1]) })).toEqual({ agree: 1, rows: 2 });
  });
});

describe('addTop1', () => {
  it('sums samples and stays undefined once a sample had no count', () => {
    let total = addTop1(null, { agree: 1, rows: 2 });
    total = addTop1(total, { agree: 2, rows: 2 });
    expect(total).toEqual({ agree: 3, rows: 4 });
    expect(addTop1(total, undefined)).toBeUndefined();
    expect(addTop1(undefined, { agree: 1, rows: 1 })).toBeUndefined();
  });
});
