import { describe, expect, it } from 'vitest';
import { errorOf } from '../testing/error-of.js';
import { checkShardSet, parseShardOrigin, type NamedShard, type ShardOrigin } from './shard-set.js';

const run = { model: 'sha256 aa', template: 'int16', data: '4 sample files' };
const shard = (index: number, count = 3, overrides: Partial<ShardOrigin['run']> = {}): NamedShard<string> => ({
  name: `s${index}.json`,
  origin: { index, count, run: { ...run, ...overrides } as Record<string, string> },
  item: `item ${index}`,
});

describe('checkShardSet', () => {
  it('returns the items in shard order, whatever order they come in', () => {
    expect(checkShardSet([shard(2), shard(0), shard(1)])).toEqual(['item 0', 'item 1', 'item 2']);
    expect(checkShardSet([shard(0, 1)])).toEqual(['item 0']);
  });

  it('1. refuses a file that records no shard', () => {
    const error = errorOf(() => checkShardSet([shard(0), { name: 'full.json', origin: undefined, item: 'x' }], 'calibration shard'));
    expect(error.code).toBe('QK_SHARD');
    expect(error.message).toBe('full.json is not a calibration shard: it records no shard number and run');
  });

  it('2. refuses shards of different runs, naming the file, what differs and both values', () => {
    const error = errorOf(() => checkShardSet([shard(0), shard(1, 3, { template: 'int8' }), shard(2)]));
    expect(error.code).toBe('QK_SHARD');
    expect(error.subject).toBe('s1.json');
    expect(error.message).toBe(
      'Cannot merge s1.json with s0.json: they are shards of different runs — template differs (s1.json: "int8"; s0.json: "int16")',
    );
    const { data: _, ...withoutData } = run;
    const lacking: NamedShard<string> = { name: 'old.json', origin: { index: 1, count: 2, run: withoutData }, item: '' };
    expect(errorOf(() => checkShardSet([shard(0, 2), lacking])).message).toContain('data differs (old.json: nothing; s0.json: "4 sample files")');
  });

  it('3. refuses shards of different counts', () => {
    expect(errorOf(() => checkShardSet([shard(0, 2), shard(1, 3)])).message).toBe(
      'Cannot merge s1.json with s0.json: s1.json is shard 1 of 3, s0.json is 0 of 2',
    );
  });

  it('4. refuses a shard given twice, naming both files', () => {
    const twice = { ...shard(1), name: 'copy.json' };
    const error = errorOf(() => checkShardSet([shard(0), shard(1), twice, shard(2)]));
    expect(error.message).toBe('copy.json and s1.json are both shard 1 of 3');
  });

  it('5. refuses a set with shards missing, naming them', () => {
    expect(errorOf(() => checkShardSet([shard(0, 4), shard(2, 4)], 'calibration shard')).message).toBe(
      'Calibration shards 1, 3 of 4 are missing: got s0.json, s2.json',
    );
    expect(errorOf(() => checkShardSet([shard(1, 2)])).message).toBe('Shard 0 of 2 is missing: got s1.json');
  });
});

describe('parseShardOrigin', () => {
  it('accepts what checkShardSet needs and refuses the rest, naming the file', () => {
    expect(parseShardOrigin({ index: 1, count: 2, run }, 'a.json')).toEqual({ index: 1, count: 2, run });
    for (const bad of [null, [], { index: 2, count: 2, run }, { index: 0, count: 0, run }, { index: 0, count: 1, run: { model: 1 } }, { index: 0, count: 1 }]) {
      const error = errorOf(() => parseShardOrigin(bad, 'a.json'));
      expect(error.code).toBe('QK_SHARD');
      expect(error.message).toMatch(/^a\.json: its "shard" record /);
    }
  });
});
