import type { NpyArray, NpyDataTypes, NpyDtype } from '../data/npy.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import { DataType } from '../ir/dtype.js';
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import { npyDtypeOf } from '../runtime/model-io.js';

/** C-order array helpers for the reference interpreter. Arrays are `NpyArray`s, as onnxruntime feeds are. */

const CTORS: { [D in NpyDtype]: new (length: number) => NpyDataTypes[D] } = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
};

export function sizeOf(dims: readonly number[]): number {
  let size = 1;
  for (const d of dims) size *= d;
  return size;
}

export function stridesOf(dims: readonly number[]): number[] {
  const strides = new Array<number>(dims.length);
  let stride = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    strides[i] = stride;
    stride *= dims[i]!;
  }
  return strides;
}

/** A zero-filled array of `dtype` and `shape`. */
export function zeros<D extends NpyDtype>(dtype: D, shape: readonly number[]): Extract<NpyArray, { dtype: D }> {
  return { dtype, shape: [...shape], data: new CTORS[dtype](sizeOf(shape)) } as unknown as Extract<NpyArray, { dtype: D }>;
}

/** The same data under another shape (no copy). */
export function reshaped(array: NpyArray, shape: readonly number[]): NpyArray {
  return { ...array, shape: [...shape] } as NpyArray;
}

/** The array's values as numbers (int64 through Number, exact below 2^53). */
export function numbers(array: NpyArray): ArrayLike<number> {
  if (array.dtype === 'int64' || array.dtype === 'uint64') return Array.from(array.data, Number);
  return array.data;
}

/** Copies elements into a new array of the same dtype: out[i] = in[source(i)]. */
export function gather(array: NpyArray, shape: readonly number[], source: (outIndex: number[]) => number): NpyArray {
  const out = zeros(array.dtype, shape);
  const target = out.data as unknown as { [i: number]: number | bigint };
  const from = array.data as unknown as { [i: number]: number | bigint };
  const index = shape.map(() => 0);
  const size = sizeOf(shape);
  for (let i = 0; i < size; i++) {
    target[i] = from[source(index)]!;
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d]! < shape[d]!) break;
      index[d] = 0;
    }
  }
  return out;
}

/** numpy-style broadcast of two shapes, or undefined when they do not broadcast. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | undefined {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return undefined;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** For each flat index of `shape`, the flat index into an array of `dims` broadcast to it. */
export function broadcastIndices(dims: readonly number[], shape: readonly number[]): Int32Array | undefined {
  const size = sizeOf(shape);
  if (dims.length === shape.length && dims.every((d, i) => d === shape[i])) return undefined;
  const strides = stridesOf(dims);
  const offset = shape.length - dims.length;
  const out = new Int32Array(size);
  const index = shape.map(() => 0);
  for (let i = 0; i < size; i++) {
    let source = 0;
    for (let d = 0; d < dims.length; d++) if (dims[d] !== 1) source += index[d + offset]! * strides[d]!;
    out[i] = source;
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d]! < shape[d]!) break;
      index[d] = 0;
    }
  }
  return out;
}

/** An axis in [0, rank), from an ONNX axis that may count from the back. */
export function normalizeAxis(axis: number, rank: number, node: Node): number {
  const normalized = axis < 0 ? axis + rank : axis;
  if (!(normalized >= 0 && normalized < rank)) {
    throw new QuantkitError('QK_ATTRIBUTE', `Node ${node.describe()}: axis ${axis} is outside a rank-${rank} tensor`, {
      subject: node.name,
    });
  }
  return normalized;
}

/** An initializer as an array (no copy); float16 and other types without an `.npy` dtype are refused. */
export function tensorToArray(tensor: Tensor, name: string): NpyArray {
  const dtype = npyDtypeOf(tensor.dtype);
  if (dtype === undefined) {
    throw new QuantkitError('QK_UNSUPPORTED', `Initializer '${name}' has a type the interpreter does not handle`, {
      subject: name,
    });
  }
  return { dtype, shape: [...tensor.dims], data: tensor.toArray() } as NpyArray;
}

/** The ONNX element type of an `.npy` dtype. */
export const ONNX_TYPE_OF: Record<NpyDtype, number> = {
  float32: DataType.FLOAT,
  float64: DataType.DOUBLE,
  int8: DataType.INT8,
  uint8: DataType.UINT8,
  int16: DataType.INT16,
  uint16: DataType.UINT16,
  int32: DataType.INT32,
  uint32: DataType.UINT32,
  int64: DataType.INT64,
  uint64: DataType.UINT64,
  bool: DataType.BOOL,
};
