import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32 } from './crc32.js';

describe('crc32', () => {
  it('matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('agrees with zlib', () => {
    const bytes = Uint8Array.from({ length: 4099 }, (_, i) => Math.imul(i, 2654435761) >>> 24);
    expect(crc32(bytes)).toBe(zlibCrc32(bytes));
  });
});
