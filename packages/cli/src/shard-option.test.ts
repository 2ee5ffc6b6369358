import { describe, expect, it } from 'vitest';
import { QuantkitError } from '@quantkit/core';
import { UsageError } from './options.js';
import type { Io } from './output.js';
import { parseShardFlag, resolveShard } from './shard-option.js';

function captureIo(): Io & { err: string } {
  const io = { err: '', isTTY: false, stdout: () => undefined, stderr: (text: string) => void (io.err += text) };
  return io;
}

describe('parseShardFlag', () => {
  it('takes k/n with 0 <= k < n, or auto', () => {
    expect(parseShardFlag('2/4')).toEqual({ index: 2, count: 4 });
    expect(parseShardFlag('auto')).toBe('auto');
    for (const bad of ['4/4', '0/0', '1', 'a/b', '-1/2', 'AUTO']) expect(() => parseShardFlag(bad), bad).toThrow(/k\/n .* or auto/);
  });
});

describe('resolveShard', () => {
  it('k/n as given, nothing printed; no flag, no shard', () => {
    const io = captureIo();
    expect(resolveShard({ shard: { index: 1, count: 2 } }, io, { JOB_COMPLETION_INDEX: '0' })).toEqual({ index: 1, count: 2 });
    expect(resolveShard({}, io, {})).toBeUndefined();
    expect(io.err).toBe('');
  });

  it('auto: from the environment, saying on stderr which engine and which k/n', () => {
    const io = captureIo();
    expect(resolveShard({ shard: 'auto', shards: 4 }, io, { JOB_COMPLETION_INDEX: '3' })).toEqual({ index: 3, count: 4 });
    expect(resolveShard({ shard: 'auto' }, io, { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '4', SLURM_ARRAY_TASK_COUNT: '4' })).toEqual({
      index: 1,
      count: 4,
    });
    expect(io.err).toBe(
      'shard 3/4 from a Kubernetes indexed Job (JOB_COMPLETION_INDEX=3, --shards 4)\n' +
        'shard 1/4 from a Slurm job array (SLURM_ARRAY_TASK_ID=2, SLURM_ARRAY_TASK_MIN=1, SLURM_ARRAY_TASK_COUNT=4)\n',
    );
  });

  it('usage errors (exit 2): no engine, no count, --shards without auto', () => {
    const io = captureIo();
    expect(() => resolveShard({ shard: 'auto' }, io, {})).toThrow(UsageError);
    expect(() => resolveShard({ shard: 'auto' }, io, { JOB_COMPLETION_INDEX: '0' })).toThrow(UsageError);
    expect(() => resolveShard({ shard: { index: 0, count: 2 }, shards: 2 }, io, {})).toThrow('--shards goes with --shard auto');
    expect(() => resolveShard({ shards: 2 }, io, {})).toThrow(UsageError);
  });

  it('an index outside 0…n−1 is a QuantkitError (exit 1) naming the variable', () => {
    let error: unknown;
    try {
      resolveShard({ shard: 'auto', shards: 4 }, captureIo(), { JOB_COMPLETION_INDEX: '7' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(QuantkitError);
    expect((error as QuantkitError).message).toBe('JOB_COMPLETION_INDEX=7 is outside 0…3 (--shards 4)');
  });
});
