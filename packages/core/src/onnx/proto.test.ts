import Long from 'long';
import { describe, expect, it } from 'vitest';
import { has, int64, int64ToNumber, ModelProto, toWireInt64 } from './proto.js';

describe('int64', () => {
  it('gives a number while exactly representable and a bigint beyond 2^53', () => {
    expect(int64(Long.fromString('9007199254740991'))).toBe(9007199254740991);
    expect(int64(Long.fromString('9007199254740992'))).toBe(9007199254740992n);
    expect(int64(Long.fromString('-1'))).toBe(-1);
    expect(int64(Long.fromString('-9223372036854775808'))).toBe(-9223372036854775808n);
    expect(int64(Long.fromString('9223372036854775807'))).toBe(9223372036854775807n);
  });

  it('passes numbers and bigints through and reads undefined as 0', () => {
    expect(int64(5)).toBe(5);
    expect(int64(5n)).toBe(5n);
    expect(int64(undefined)).toBe(0);
    expect(int64ToNumber(Long.fromNumber(42))).toBe(42);
  });

  it('toWireInt64 turns bigints into Longs with the same value', () => {
    expect(toWireInt64(-3)).toBe(-3);
    expect(String(toWireInt64(9223372036854775807n))).toBe('9223372036854775807');
    expect(Long.isLong(toWireInt64(-9223372036854775808n))).toBe(true);
  });
});

describe('has', () => {
  it('is true only for fields present on the wire', () => {
    const message = ModelProto.decode(ModelProto.encode({ producerName: '' }).finish()) as unknown as Record<string, unknown>;
    expect(has(message, 'producerName')).toBe(true);
    expect(has(message, 'docString')).toBe(false);
    expect(message.docString).toBe('');
    expect(has(undefined, 'docString')).toBe(false);
  });
});
