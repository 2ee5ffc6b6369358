import { describe, expect, it } from 'vitest';
import { errorOf } from '../testing/error-of.js';
import { shardFromEnvironment } from './shard-from-environment.js';

describe('shardFromEnvironment', () => {
  it('1. Kubernetes indexed Job: k from JOB_COMPLETION_INDEX, n from --shards, else QUANTKIT_SHARDS', () => {
    expect(shardFromEnvironment({ JOB_COMPLETION_INDEX: '2' }, { shards: 4 })).toEqual({
      index: 2,
      count: 4,
      engine: 'kubernetes',
      source: 'JOB_COMPLETION_INDEX=2, --shards 4',
    });
    expect(shardFromEnvironment({ JOB_COMPLETION_INDEX: '0', QUANTKIT_SHARDS: '3' })).toMatchObject({
      index: 0,
      count: 3,
      source: 'JOB_COMPLETION_INDEX=0, QUANTKIT_SHARDS=3',
    });
    const noCount = errorOf(() => shardFromEnvironment({ JOB_COMPLETION_INDEX: '1' }));
    expect(noCount.code).toBe('QK_USAGE');
    expect(noCount.message).toContain("a Job's completions is not visible inside its pods");
    expect(noCount.hint).toContain('--shards N');
    expect(noCount.hint).toContain('QUANTKIT_SHARDS');
  });

  it('2. Slurm array: k and n from SLURM_ARRAY_TASK_ID and _COUNT, shifted by _MIN and divided by _STEP', () => {
    expect(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '3' })).toEqual({
      index: 3,
      count: 4,
      engine: 'slurm',
      source: 'SLURM_ARRAY_TASK_ID=3, SLURM_ARRAY_TASK_COUNT=4',
    });
    // --array=1-4: the first task is shard 0.
    expect(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '4' })).toMatchObject({
      index: 0,
      count: 4,
      source: 'SLURM_ARRAY_TASK_ID=1, SLURM_ARRAY_TASK_MIN=1, SLURM_ARRAY_TASK_MAX=4',
    });
    // --array=10-16:2 → 10, 12, 14, 16.
    const stepped = { SLURM_ARRAY_TASK_MIN: '10', SLURM_ARRAY_TASK_MAX: '16', SLURM_ARRAY_TASK_STEP: '2', SLURM_ARRAY_TASK_COUNT: '4' };
    expect([10, 12, 14, 16].map((id) => shardFromEnvironment({ ...stepped, SLURM_ARRAY_TASK_ID: String(id) }).index)).toEqual([0, 1, 2, 3]);
    // Only the id: n from --shards.
    expect(shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '1' }, { shards: 2 })).toMatchObject({ index: 1, count: 2, source: 'SLURM_ARRAY_TASK_ID=1, --shards 2' });
    expect(errorOf(() => shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '1' })).code).toBe('QK_USAGE');
  });

  it('2. an array that is not an evenly spaced range is refused, naming the variables', () => {
    // --array=1,3,7: 3 tasks between 1 and 7.
    const error = errorOf(() =>
      shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '3', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '7' }),
    );
    expect(error.code).toBe('QK_SHARD');
    expect(error.message).toContain('SLURM_ARRAY_TASK_COUNT=3');
    expect(error.message).toContain('not an evenly spaced range');
  });

  it('3. --shards that disagrees with the engine is refused, naming both', () => {
    const slurm = errorOf(() => shardFromEnvironment({ SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '4' }, { shards: 8 }));
    expect(slurm.message).toBe('--shards 8 disagrees with the Slurm array, which has 4 tasks (SLURM_ARRAY_TASK_COUNT=4)');
    const kubernetes = errorOf(() => shardFromEnvironment({ JOB_COMPLETION_INDEX: '0', QUANTKIT_SHARDS: '4' }, { shards: 8 }));
    expect(kubernetes.message).toBe('--shards 8 and QUANTKIT_SHARDS=4 disagree on the number of shards');
  });

  it('4. an index outside 0…n−1, or a variable that is no integer, is refused naming the variable', () => {
    const cases: [Record<string, string>, number | undefined, string][] = [
      [{ JOB_COMPLETION_INDEX: '4' }, 4, 'JOB_COMPLETION_INDEX=4 is outside 0…3 (--shards 4)'],
      [{ SLURM_ARRAY_TASK_ID: '4', SLURM_ARRAY_TASK_COUNT: '4' }, undefined, 'SLURM_ARRAY_TASK_ID=4 is not one of'],
      [{ SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_MIN: '1', SLURM_ARRAY_TASK_MAX: '4' }, undefined, 'SLURM_ARRAY_TASK_ID=0 is not one of'],
      [{ SLURM_ARRAY_TASK_ID: '11', SLURM_ARRAY_TASK_MIN: '10', SLURM_ARRAY_TASK_MAX: '16', SLURM_ARRAY_TASK_STEP: '2' }, undefined, 'SLURM_ARRAY_TASK_ID=11 is not one of'],
      [{ JOB_COMPLETION_INDEX: 'two' }, 4, 'JOB_COMPLETION_INDEX="two" is not a non-negative integer'],
      [{ JOB_COMPLETION_INDEX: '-1' }, 4, 'JOB_COMPLETION_INDEX="-1" is not a non-negative integer'],
      [{ SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_COUNT: '4.5' }, undefined, 'SLURM_ARRAY_TASK_COUNT="4.5" is not a non-negative integer'],
    ];
    for (const [env, shards, message] of cases) {
      const error = errorOf(() => shardFromEnvironment(env, { shards }));
      expect(error.code, message).toBe('QK_SHARD');
      expect(error.message).toContain(message);
    }
  });

  it('5. both engines at once are refused', () => {
    const error = errorOf(() => shardFromEnvironment({ JOB_COMPLETION_INDEX: '0', SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_COUNT: '2' }, { shards: 2 }));
    expect(error.code).toBe('QK_SHARD');
    expect(error.message).toContain('Both JOB_COMPLETION_INDEX (Kubernetes) and SLURM_ARRAY_TASK_ID (Slurm) are set');
  });

  it('6. no engine: a usage error naming the variables looked for; empty variables count as unset', () => {
    for (const env of [{}, { JOB_COMPLETION_INDEX: '', SLURM_ARRAY_TASK_ID: ' ' }, { SLURM_ARRAY_TASK_COUNT: '4' }]) {
      const error = errorOf(() => shardFromEnvironment(env, { shards: 4 }));
      expect(error.code).toBe('QK_USAGE');
      expect(error.message).toContain('neither JOB_COMPLETION_INDEX (a Kubernetes indexed Job) nor SLURM_ARRAY_TASK_ID (a Slurm job array) is set');
      expect(error.hint).toContain('--shard k/n');
    }
  });
});
