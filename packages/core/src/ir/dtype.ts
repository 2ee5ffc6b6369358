/** ONNX TensorProto.DataType numbers. */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  UINT4: 21,
  INT4: 22,
  FLOAT4E2M1: 23,
  FLOAT8E8M0: 24,
  UINT2: 25,
  INT2: 26,
} as const;

export type DataType = (typeof DataType)[keyof typeof DataType];

const NAMES = new Map<number, string>(Object.entries(DataType).map(([name, id]) => [id, name.toLowerCase()]));
NAMES.set(DataType.FLOAT, 'float32');
NAMES.set(DataType.DOUBLE, 'float64');

/** Lower-case ONNX name of a dtype ('float', 'int8', …); unknown numbers print as `dtype(N)`. */
export function dtypeName(dtype: number): string {
  return NAMES.get(dtype) ?? `dtype(${dtype})`;
}

/** Size in bits of one element, or undefined for strings and unknown types. */
export function dtypeBits(dtype: number): number | undefined {
  switch (dtype) {
    case DataType.BOOL:
    case DataType.UINT8:
    case DataType.INT8:
    case DataType.FLOAT8E4M3FN:
    case DataType.FLOAT8E4M3FNUZ:
    case DataType.FLOAT8E5M2:
    case DataType.FLOAT8E5M2FNUZ:
    case DataType.FLOAT8E8M0:
      return 8;
    case DataType.UINT16:
    case DataType.INT16:
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
      return 16;
    case DataType.FLOAT:
    case DataType.INT32:
    case DataType.UINT32:
      return 32;
    case DataType.DOUBLE:
    case DataType.INT64:
    case DataType.UINT64:
    case DataType.COMPLEX64:
      return 64;
    case DataType.COMPLEX128:
      return 128;
    case DataType.UINT4:
    case DataType.INT4:
    case DataType.FLOAT4E2M1:
      return 4;
    case DataType.UINT2:
    case DataType.INT2:
      return 2;
    default:
      return undefined;
  }
}

/** Bytes needed to hold `count` elements in raw_data layout (sub-byte types are packed). */
export function rawByteLength(dtype: number, count: number): number | undefined {
  const bits = dtypeBits(dtype);
  return bits === undefined ? undefined : Math.ceil((bits * count) / 8);
}

export type TypedArrayFor<D extends number> = D extends typeof DataType.FLOAT
  ? Float32Array
  : D extends typeof DataType.DOUBLE
    ? Float64Array
    : D extends typeof DataType.INT8
      ? Int8Array
      : D extends typeof DataType.UINT8
        ? Uint8Array
        : D extends typeof DataType.INT16
          ? Int16Array
          : D extends typeof DataType.UINT16
            ? Uint16Array
            : D extends typeof DataType.INT32
              ? Int32Array
              : D extends typeof DataType.UINT32
                ? Uint32Array
                : D extends typeof DataType.INT64
                  ? BigInt64Array
                  : D extends typeof DataType.UINT64
                    ? BigUint64Array
                    : Uint8Array;

export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

type TypedArrayCtor = {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): NumericArray;
  new (length: number): NumericArray;
  readonly BYTES_PER_ELEMENT: number;
};

/** The typed array class that views this dtype's raw bytes, where JavaScript has one. */
export function typedArrayCtor(dtype: number): TypedArrayCtor | undefined {
  switch (dtype) {
    case DataType.FLOAT:
      return Float32Array;
    case DataType.DOUBLE:
      return Float64Array;
    case DataType.INT8:
      return Int8Array;
    case DataType.UINT8:
    case DataType.BOOL:
      return Uint8Array;
    case DataType.INT16:
      return Int16Array;
    case DataType.UINT16:
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
      return Uint16Array;
    case DataType.INT32:
      return Int32Array;
    case DataType.UINT32:
      return Uint32Array;
    case DataType.INT64:
      return BigInt64Array;
    case DataType.UINT64:
      return BigUint64Array;
    default:
      return undefined;
  }
}

/** The dtype of a typed array (Uint8Array maps to uint8, Uint16Array to uint16). */
export function dtypeOfArray(array: NumericArray): DataType {
  if (array instanceof Float32Array) return DataType.FLOAT;
  if (array instanceof Float64Array) return DataType.DOUBLE;
  if (array instanceof Int8Array) return DataType.INT8;
  if (array instanceof Uint8Array) return DataType.UINT8;
  if (array instanceof Int16Array) return DataType.INT16;
  if (array instanceof Uint16Array) return DataType.UINT16;
  if (array instanceof Int32Array) return DataType.INT32;
  if (array instanceof Uint32Array) return DataType.UINT32;
  if (array instanceof BigInt64Array) return DataType.INT64;
  return DataType.UINT64;
}
