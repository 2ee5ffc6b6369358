import { DataType, Tensor, typedArrayCtor, type NumericArray } from '@quantkit/core';

/** One element: a number, or a bigint for int64 / uint64 (exact over their whole range). */
export type Scalar = number | bigint;

/** A constant as the evaluator works on it: plain arrays, row-major, int64 exact. */
export interface ConstantValue {
  dtype: number;
  dims: number[];
  data: Scalar[];
}

/** The dtypes the evaluator computes in; others (float16, strings, …) are never folded. */
export const EVALUATED_DTYPES: ReadonlySet<number> = new Set([
  DataType.FLOAT,
  DataType.DOUBLE,
  DataType.INT8,
  DataType.UINT8,
  DataType.INT16,
  DataType.UINT16,
  DataType.INT32,
  DataType.UINT32,
  DataType.INT64,
  DataType.UINT64,
  DataType.BOOL,
]);

export const isBigDtype = (dtype: number) => dtype === DataType.INT64 || dtype === DataType.UINT64;

export const elementCount = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** The tensor's data as a ConstantValue, or undefined when its dtype is not evaluated. */
export function fromTensor(tensor: Tensor): ConstantValue | undefined {
  if (!EVALUATED_DTYPES.has(tensor.dtype)) return undefined;
  return { dtype: tensor.dtype, dims: [...tensor.dims], data: Array.from(tensor.toArray() as ArrayLike<Scalar>) };
}

/** Stores a value in its dtype's typed array (which wraps integers as a C cast would). */
export function toTensor(value: ConstantValue): Tensor {
  const Ctor = typedArrayCtor(value.dtype)!;
  const array = new Ctor(value.data.length) as NumericArray;
  const big = isBigDtype(value.dtype);
  for (let i = 0; i < value.data.length; i++) {
    const x = value.data[i]!;
    (array as unknown as Scalar[])[i] = big ? (typeof x === 'bigint' ? x : BigInt(x)) : Number(x);
  }
  return Tensor.fromArray(array, value.dims, { dtype: value.dtype });
}

/** The elements as numbers (shape vectors, axes, indices). */
export function toNumbers(value: ConstantValue): number[] {
  return value.data.map(Number);
}
