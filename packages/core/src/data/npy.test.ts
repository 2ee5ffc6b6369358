import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { QuantkitError } from '../errors/quantkit-error.js';
import { encodeNpy, NPY_DTYPES, parseNpy } from './npy.js';
import type { NpyArray } from './npy.js';

const fixture = (name: string): Uint8Array => readFileSync(new URL(`__fixtures__/${name}`, import.meta.url));

/** A .npy v1.0 file with an arbitrary header dict and data bytes, for malformed inputs numpy would not write. */
function npyBytes(dict: string, data: Uint8Array = new Uint8Array(0), version = 1): Uint8Array {
  const prefix = version === 1 ? 10 : 12;
  const header = new TextEncoder().encode(`${dict}\n`);
  const out = new Uint8Array(prefix + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(header, prefix);
  out.set(data, prefix + header.length);
  return out;
}

function parseError(bytes: Uint8Array, file = 'calib/bad.npy'): QuantkitError {
  try {
    parseNpy(bytes, file);
  } catch (error) {
    expect(error).toBeInstanceOf(QuantkitError);
    expect((error as QuantkitError).code).toBe('QK_CALIB_DATA');
    expect((error as QuantkitError).message).toContain(file);
    return error as QuantkitError;
  }
  throw new Error('parseNpy did not throw');
}

describe('parseNpy on numpy-written files', () => {
  it('reads a version 1.0 float32 matrix', () => {
    const array = parseNpy(fixture('numpy-v1.npy'));
    expect(array.dtype).toBe('float32');
    expect(array.shape).toEqual([2, 3]);
    expect(array.data).toBeInstanceOf(Float32Array);
    expect([...array.data]).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('reads a version 2.0 int64 vector as a BigInt64Array', () => {
    const array = parseNpy(fixture('numpy-v2.npy'));
    expect(array.dtype).toBe('int64');
    expect(array.shape).toEqual([2]);
    expect(array.data).toBeInstanceOf(BigInt64Array);
    expect([...array.data]).toEqual([1n, -2n]);
  });

  it('reads a version 3.0 bool vector as bytes', () => {
    const array = parseNpy(fixture('numpy-v3.npy'));
    expect(array.dtype).toBe('bool');
    expect(array.shape).toEqual([3]);
    expect([...array.data]).toEqual([1, 0, 1]);
  });
});

describe('encodeNpy', () => {
  it('writes the same bytes as numpy.save', () => {
    const bytes = fixture('numpy-v1.npy');
    expect(encodeNpy(parseNpy(bytes))).toEqual(new Uint8Array(bytes));
  });

  const samples: NpyArray[] = [
    { dtype: 'float32', shape: [2, 2], data: new Float32Array([1.5, -2, Number.NaN, 3]) },
    { dtype: 'float64', shape: [3], data: new Float64Array([Math.PI, -0, 1e300]) },
    { dtype: 'int8', shape: [2], data: new Int8Array([-128, 127]) },
    { dtype: 'uint8', shape: [1, 1, 2], data: new Uint8Array([0, 255]) },
    { dtype: 'int16', shape: [2], data: new Int16Array([-32768, 32767]) },
    { dtype: 'uint16', shape: [2], data: new Uint16Array([0, 65535]) },
    { dtype: 'int32', shape: [2], data: new Int32Array([-(2 ** 31), 2 ** 31 - 1]) },
    { dtype: 'uint32', shape: [2], data: new Uint32Array([0, 2 ** 32 - 1]) },
    { dtype: 'int64', shape: [], data: new BigInt64Array([-(2n ** 63n)]) },
    { dtype: 'uint64', shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) },
    { dtype: 'bool', shape: [2], data: new Uint8Array([1, 0]) },
    { dtype: 'float32', shape: [0, 4], data: new Float32Array(0) },
  ];

  it('covers every dtype', () => {
    expect(new Set(samples.map((sample) => sample.dtype))).toEqual(new Set(NPY_DTYPES));
  });

  it.each(samples.map((sample) => [`${sample.dtype} [${sample.shape.join(', ')}]`, sample] as const))(
    'round-trips %s',
    (_, sample) => {
      const bytes = encodeNpy(sample);
      expect((bytes[8]! | (bytes[9]! << 8)) + 10).toBe(Math.ceil((bytes[8]! + 10) / 64) * 64); // data 64-byte aligned
      const back = parseNpy(bytes);
      expect(back.dtype).toBe(sample.dtype);
      expect(back.shape).toEqual(sample.shape);
      expect(back.data).toEqual(sample.data);
    },
  );

  it('rejects data that does not fit the shape or dtype', () => {
    expect(() => encodeNpy({ dtype: 'float32', shape: [3], data: new Float32Array(2) })).toThrow(/needs 3 elements/);
    expect(() => encodeNpy({ dtype: 'float32', shape: [2], data: new Float64Array(2) } as unknown as NpyArray)).toThrow(
      /Float32Array/,
    );
  });
});

describe('parseNpy data placement', () => {
  it('views the input bytes when the data is aligned', () => {
    const bytes = encodeNpy({ dtype: 'float32', shape: [4], data: new Float32Array([1, 2, 3, 4]) });
    const array = parseNpy(bytes);
    expect(array.data.buffer).toBe(bytes.buffer);
  });

  it('copies the data when it is not aligned for its element type', () => {
    const encoded = encodeNpy({ dtype: 'float64', shape: [2], data: new Float64Array([0.25, -8]) });
    // A Node Buffer, whose `slice` does not copy, like the bytes fs.readFile returns.
    const shifted = Buffer.alloc(encoded.length + 3);
    shifted.set(encoded, 3);
    const array = parseNpy(shifted.subarray(3));
    expect(array.data.buffer).not.toBe(shifted.buffer);
    expect([...array.data]).toEqual([0.25, -8]);
  });
});

describe('parseNpy errors name the file and what is wrong', () => {
  const f4 = (shape: string): string => `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;

  it('bad magic', () => {
    expect(parseError(new TextEncoder().encode('PK\u0003\u0004 not numpy at all')).message).toMatch(/bad magic/);
  });

  it('too short', () => {
    expect(parseError(new Uint8Array([0x93, 0x4e])).message).toMatch(/too short/);
  });

  it('truncated header', () => {
    expect(parseError(npyBytes(f4('(2,)')).subarray(0, 30)).message).toMatch(/truncated.*header/);
  });

  it('truncated data', () => {
    expect(parseError(npyBytes(f4('(2, 3)'), new Uint8Array(20))).message).toMatch(
      /truncated: shape \(2, 3\) of float32 needs 24 data bytes but only 20/,
    );
  });

  it('bytes after the data', () => {
    expect(parseError(npyBytes(f4('(1,)'), new Uint8Array(8))).message).toMatch(/4 bytes after the array data/);
  });

  it('big-endian', () => {
    const error = parseError(npyBytes(`{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }`, new Uint8Array(4)));
    expect(error.message).toMatch(/big-endian/);
    expect(error.hint).toContain("astype('<f4')");
  });

  it('Fortran order', () => {
    const error = parseError(npyBytes(`{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }`, new Uint8Array(4)));
    expect(error.message).toMatch(/Fortran/);
  });

  it('pickled object arrays', () => {
    const error = parseError(npyBytes(`{'descr': '|O', 'fortran_order': False, 'shape': (1,), }`, new Uint8Array(8)));
    expect(error.message).toMatch(/pickled object array/);
  });

  it('unsupported dtypes', () => {
    const half = parseError(npyBytes(`{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }`, new Uint8Array(2)));
    expect(half.message).toMatch(/unsupported dtype '<f2' \(float16/);
    const text = parseError(npyBytes(`{'descr': '<U3', 'fortran_order': False, 'shape': (1,), }`, new Uint8Array(12)));
    expect(text.message).toMatch(/unsupported dtype '<U3'/);
  });

  it('structured arrays', () => {
    const dict = `{'descr': [('x', '<f4'), ('y', '<i4')], 'fortran_order': False, 'shape': (1,), }`;
    expect(parseError(npyBytes(dict, new Uint8Array(8))).message).toMatch(/structured/);
  });

  it('unknown format versions', () => {
    expect(parseError(npyBytes(f4('(1,)'), new Uint8Array(4), 4)).message).toMatch(/version 4\.0/);
  });

  it('malformed headers', () => {
    expect(parseError(npyBytes(`{'descr': '<f4', 'shape': (1,), }`)).message).toMatch(/without 'descr'/);
    expect(parseError(npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': (1,`)).message).toMatch(/malformed/);
    expect(parseError(npyBytes(f4('(-1,)'))).message).toMatch(/invalid shape/);
  });

  it('without a file name, says "NPY data"', () => {
    expect(() => parseNpy(new Uint8Array(3))).toThrow(/^NPY data: /);
  });
});
