import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { QuantkitError } from '../errors/quantkit-error.js';
import { encodeNpy } from './npy.js';
import type { NpyArray } from './npy.js';
import { encodeNpz, readNpz } from './npz.js';
import { encodeZip } from './zip.js';

const fixture = (name: string): Uint8Array => readFileSync(new URL(`__fixtures__/${name}`, import.meta.url));

const a: NpyArray = { dtype: 'float32', shape: [2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) };
const ids: NpyArray = { dtype: 'int64', shape: [1, 2], data: new BigInt64Array([7n, -1n]) };

function npzError(bytes: Uint8Array, file = 'calib/sample_007.npz'): QuantkitError {
  try {
    readNpz(bytes, file);
  } catch (error) {
    expect(error).toBeInstanceOf(QuantkitError);
    expect((error as QuantkitError).code).toBe('QK_CALIB_DATA');
    expect((error as QuantkitError).message).toContain(file);
    return error as QuantkitError;
  }
  throw new Error('readNpz did not throw');
}

describe('readNpz on numpy-written archives', () => {
  it('reads numpy.savez (stored entries, ZIP64 extra fields in the local headers)', () => {
    const arrays = readNpz(fixture('numpy-savez.npz'));
    expect([...arrays.keys()]).toEqual(['a', 'b']);
    expect(arrays.get('a')).toEqual(a);
    expect(arrays.get('b')).toEqual({ dtype: 'int8', shape: [3], data: new Int8Array([-1, 0, 127]) });
  });

  it('reads numpy.savez_compressed (deflated entries)', () => {
    const arrays = readNpz(fixture('numpy-savez-compressed.npz'));
    expect([...arrays.keys()]).toEqual(['a', 'c']);
    expect(arrays.get('a')).toEqual(a);
    expect(arrays.get('c')).toEqual({ dtype: 'float64', shape: [1, 2], data: new Float64Array([1.5, -2.25]) });
  });
});

describe('encodeNpz', () => {
  it.each([false, true])('round-trips through readNpz (compress: %s)', (compress) => {
    const bytes = encodeNpz(
      new Map<string, NpyArray>([
        ['input', a],
        ['token_ids', ids],
      ]),
      { compress },
    );
    const arrays = readNpz(bytes);
    expect([...arrays.keys()]).toEqual(['input', 'token_ids']);
    expect(arrays.get('input')).toEqual(a);
    expect(arrays.get('token_ids')).toEqual(ids);
  });

  it('accepts a record and keeps non-ASCII names', () => {
    expect([...readNpz(encodeNpz({ 'größe/x': a })).keys()]).toEqual(['größe/x']);
  });

  it('is deterministic', () => {
    expect(encodeNpz({ a })).toEqual(encodeNpz({ a }));
  });
});

describe('readNpz errors name the archive and what is wrong', () => {
  const good = (): Uint8Array => encodeNpz({ a });

  it('not a ZIP archive', () => {
    expect(npzError(encodeNpy(a)).message).toMatch(/not a ZIP archive/);
  });

  it('truncated archive', () => {
    expect(npzError(good().subarray(0, 100)).message).toMatch(/not a ZIP archive/);
  });

  it('corrupt data (CRC-32 mismatch)', () => {
    const bytes = good();
    bytes[170] = bytes[170]! ^ 0xff; // inside the array data: 30 + 5 bytes of local header, 128 of .npy header
    expect(npzError(bytes).message).toMatch(/entry 'a\.npy' is corrupt \(CRC-32 mismatch\)/);
  });

  it('corrupt deflate stream', () => {
    const bytes = encodeNpz({ a }, { compress: true });
    bytes.fill(0xff, 40, 60);
    expect(npzError(bytes).message).toMatch(/entry 'a\.npy' is corrupt/);
  });

  it('ZIP64 archives', () => {
    const bytes = good();
    const view = new DataView(bytes.buffer);
    view.setUint16(bytes.length - 12, 0xffff, true); // total entries
    expect(npzError(bytes).message).toMatch(/ZIP64/);
  });

  it('encrypted entries and unknown compression methods', () => {
    const bytes = good();
    const view = new DataView(bytes.buffer);
    const directory = view.getUint32(bytes.length - 6, true);
    view.setUint16(directory + 10, 12, true); // bzip2
    expect(npzError(bytes).message).toMatch(/compression method 12/);
    view.setUint16(directory + 8, 1, true);
    expect(npzError(bytes).message).toMatch(/encrypted/);
  });

  it('members that are not .npy arrays', () => {
    const bytes = encodeZip([{ name: 'notes.txt', data: new TextEncoder().encode('hi') }]);
    expect(npzError(bytes).message).toMatch(/member 'notes\.txt' is not an \.npy array/);
  });

  it('a bad array inside names the archive and the array', () => {
    const broken = encodeNpy(a).subarray(0, 100);
    const error = npzError(encodeZip([{ name: 'input.npy', data: broken }]));
    expect(error.message).toMatch(/calib\/sample_007\.npz \(array 'input'\): is truncated/);
  });
});
