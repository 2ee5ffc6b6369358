import { describe, expect, it } from 'vitest';
import { DataType } from './dtype.js';
import { Tensor } from './tensor.js';
import { codeOf } from '../testing/error-of.js';

describe('Tensor.fromArray', () => {
  it('takes the dtype from the array and copies the dims', () => {
    const dims = [2, 3];
    const tensor = Tensor.fromArray(new Int8Array(6), dims, { name: 'w' });
    dims[0] = 99;
    expect(tensor.dtype).toBe(DataType.INT8);
    expect(tensor.dims).toEqual([2, 3]);
    expect(tensor.size).toBe(6);
    expect(tensor.name).toBe('w');
  });

  it('refuses data that does not fill the dims, naming the tensor', () => {
    expect(codeOf(() => Tensor.fromArray(new Float32Array(5), [2, 3], { name: 'w' }))).toBe('QK_TENSOR_DATA');
    expect(() => Tensor.fromArray(new Float32Array(5), [2, 3], { name: 'w' })).toThrow(/w: 5 elements .*\[2, 3\]/);
  });

  it('treats dims [] as a scalar of one element', () => {
    expect(Tensor.fromArray(new Float32Array([7]), []).size).toBe(1);
  });

  it('an explicit dtype wins (float16 stored as Uint16Array)', () => {
    const tensor = Tensor.fromArray(new Uint16Array([0x3c00]), [1], { dtype: DataType.FLOAT16 });
    expect(tensor.dtype).toBe(DataType.FLOAT16);
    expect(tensor.byteLength).toBe(2);
  });

  it('refuses an explicit dtype that the array cannot hold', () => {
    expect(codeOf(() => Tensor.fromArray(new Float32Array(4), [4], { dtype: DataType.INT8 }))).toBe('QK_TENSOR_DATA');
    expect(() => Tensor.fromArray(new Int32Array(2), [2], { dtype: DataType.INT64, name: 'ids' })).toThrow(
      /ids: int64 data needs a BigInt64Array, got Int32Array/,
    );
    expect(Tensor.fromArray(new Uint8Array([1, 0]), [2], { dtype: DataType.BOOL }).dtype).toBe(DataType.BOOL);
  });

  it('rawBytes and toArray are zero-copy views of the array', () => {
    const array = new Float32Array([1, 2, 3, 4]);
    const tensor = Tensor.fromArray(array, [4]);
    expect(tensor.toArray()).toBe(array);
    const raw = tensor.rawBytes();
    expect(raw.buffer).toBe(array.buffer);
    expect(raw.byteLength).toBe(16);
    expect(new Float32Array(raw.buffer, raw.byteOffset, 4)).toEqual(array);
  });
});

describe('Tensor.fromRawBytes', () => {
  it('toArray views an aligned buffer without copying', () => {
    const buffer = new ArrayBuffer(24);
    new Float32Array(buffer, 8, 4).set([1.5, -2, 3, 4]);
    const bytes = new Uint8Array(buffer, 8, 16);
    const tensor = Tensor.fromRawBytes(DataType.FLOAT, [2, 2], bytes);
    expect(tensor.rawBytes()).toBe(bytes);
    const array = tensor.toArray();
    expect(array.buffer).toBe(buffer);
    expect(array.byteOffset).toBe(8);
    expect([...array]).toEqual([1.5, -2, 3, 4]);
  });

  it('toArray copies when the offset is not aligned to the element size', () => {
    const buffer = new ArrayBuffer(20);
    const bytes = new Uint8Array(buffer, 1, 16);
    const view = new DataView(buffer, 1);
    [1, 2, 3, -4].forEach((v, i) => view.setFloat32(i * 4, v, true));
    const tensor = Tensor.fromRawBytes(DataType.FLOAT, [4], bytes);
    const array = tensor.toArray();
    expect(array.buffer).not.toBe(buffer);
    expect([...array]).toEqual([1, 2, 3, -4]);
  });

  it('views int64 data as BigInt64Array', () => {
    const source = new BigInt64Array([-1n, 9223372036854775807n]);
    const tensor = Tensor.fromRawBytes(DataType.INT64, [2], new Uint8Array(source.buffer));
    expect([...(tensor.toArray() as BigInt64Array)]).toEqual([-1n, 9223372036854775807n]);
    expect([...tensor.toFloat32()]).toEqual([-1, 9223372036854775807]);
  });

  it('too few bytes for the dims is QK_TENSOR_DATA', () => {
    const tensor = Tensor.fromRawBytes(DataType.FLOAT, [4], new Uint8Array(12), 'short');
    expect(codeOf(() => tensor.toArray())).toBe('QK_TENSOR_DATA');
  });

  it('a dtype without a typed array (float8) has bytes but no array view', () => {
    const tensor = Tensor.fromRawBytes(DataType.FLOAT8E4M3FN, [3], new Uint8Array([1, 2, 3]), 'f8');
    expect([...tensor.rawBytes()]).toEqual([1, 2, 3]);
    expect(tensor.byteLength).toBe(3);
    expect(codeOf(() => tensor.toArray())).toBe('QK_UNSUPPORTED');
  });
});

describe('Tensor.fromProto typed fields', () => {
  it('decodes float_data', () => {
    const tensor = Tensor.fromProto({ dims: [3], dataType: DataType.FLOAT, floatData: [0.5, -1, 2] }, DataType.FLOAT, [3], 'f');
    expect(tensor.toArray()).toEqual(new Float32Array([0.5, -1, 2]));
    expect(tensor.rawBytes().byteLength).toBe(12);
  });

  it('decodes int32_data for int32, int8, uint8, int16 and bool', () => {
    const cases: [number, number[], unknown][] = [
      [DataType.INT32, [-5, 7], new Int32Array([-5, 7])],
      [DataType.INT8, [-128, 127], new Int8Array([-128, 127])],
      [DataType.UINT8, [0, 255], new Uint8Array([0, 255])],
      [DataType.INT16, [-32768, 1], new Int16Array([-32768, 1])],
      [DataType.BOOL, [1, 0], new Uint8Array([1, 0])],
    ];
    for (const [dtype, int32Data, expected] of cases) {
      expect(Tensor.fromProto({ dataType: dtype, int32Data }, dtype, [2], 't').toArray()).toEqual(expected);
    }
  });

  it('decodes int64_data from numbers, strings and Long-like objects', () => {
    const longLike = { toString: () => '-9223372036854775808' };
    const tensor = Tensor.fromProto(
      { dataType: DataType.INT64, int64Data: [3, '9223372036854775807', longLike] },
      DataType.INT64,
      [3],
      'i64',
    );
    expect([...(tensor.toArray() as BigInt64Array)]).toEqual([3n, 9223372036854775807n, -9223372036854775808n]);
  });

  it('decodes double_data and uint64_data (which also holds uint32)', () => {
    expect(Tensor.fromProto({ doubleData: [0.1, 2] }, DataType.DOUBLE, [2], 'd').toArray()).toEqual(new Float64Array([0.1, 2]));
    expect(Tensor.fromProto({ uint64Data: [4294967295] }, DataType.UINT32, [1], 'u32').toArray()).toEqual(
      new Uint32Array([4294967295]),
    );
    expect([...(Tensor.fromProto({ uint64Data: ['18446744073709551615'] }, DataType.UINT64, [1], 'u64').toArray() as BigUint64Array)]).toEqual([
      18446744073709551615n,
    ]);
  });

  it('reads packed float8 / int4 bytes from int32_data, one byte per entry', () => {
    const tensor = Tensor.fromProto({ int32Data: [0x21, 0x43] }, DataType.INT4, [4], 'i4');
    expect([...tensor.rawBytes()]).toEqual([0x21, 0x43]);
  });

  it('prefers raw_data and keeps it zero-copy', () => {
    const rawData = new Uint8Array(new Float32Array([9, 8]).buffer);
    const tensor = Tensor.fromProto({ rawData, floatData: [1, 2] }, DataType.FLOAT, [2], 'r');
    expect(tensor.rawBytes()).toBe(rawData);
    expect([...tensor.toArray()]).toEqual([9, 8]);
  });

  it('an external tensor without a reader says to load from a path', () => {
    const tensor = Tensor.fromProto({ dataLocation: 1 }, DataType.FLOAT, [2], 'ext');
    expect(tensor.isExternal).toBe(true);
    expect(tensor.byteLength).toBe(8);
    expect(codeOf(() => tensor.rawBytes())).toBe('QK_EXTERNAL_DATA');
    tensor.externalReader = () => new Uint8Array(new Float32Array([3, 4]).buffer);
    expect([...tensor.toArray()]).toEqual([3, 4]);
  });
});

describe('Tensor.toFloat32', () => {
  it('returns float32 data as is', () => {
    const array = new Float32Array([1, 2]);
    expect(Tensor.fromArray(array, [2]).toFloat32()).toBe(array);
  });

  it('converts float16 bits, including subnormals, infinities and NaN', () => {
    const bits = new Uint16Array([0x3c00, 0xc000, 0x3555, 0x0001, 0x7c00, 0xfc00, 0x7e00, 0x0000, 0x8000]);
    const values = Tensor.fromArray(bits, [bits.length], { dtype: DataType.FLOAT16 }).toFloat32();
    expect(values[0]).toBe(1);
    expect(values[1]).toBe(-2);
    expect(values[2]).toBeCloseTo(0.33325, 5);
    expect(values[3]).toBe(Math.fround(2 ** -24));
    expect(values[4]).toBe(Number.POSITIVE_INFINITY);
    expect(values[5]).toBe(Number.NEGATIVE_INFINITY);
    expect(values[6]).toBeNaN();
    expect(Object.is(values[7], 0)).toBe(true);
    expect(Object.is(values[8], -0)).toBe(true);
  });

  it('converts bfloat16 bits (the top half of a float32)', () => {
    const bits = new Uint16Array([0x3f80, 0xc040, 0x7f80]);
    const values = Tensor.fromArray(bits, [3], { dtype: DataType.BFLOAT16 }).toFloat32();
    expect([...values]).toEqual([1, -3, Number.POSITIVE_INFINITY]);
  });

  it('converts integers to their float values', () => {
    expect([...Tensor.fromArray(new Int8Array([-3, 5]), [2]).toFloat32()]).toEqual([-3, 5]);
  });
});
