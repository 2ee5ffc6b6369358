import { describe, expect, it } from 'vitest';
import { TEST_PARAMS, testMarch } from './__fixtures__/test-march.js';
import { paramRows, PERF_PARAM_UNITS } from './perf-params.js';
import { mergePerfParams, parsePerfConfig, resolvePerfParams } from './resolve-params.js';

describe('parsePerfConfig', () => {
  it('accepts a chip and partial params', () => {
    const config = { chip: 'J6E', params: { ddr: { bytesPerSecond: 3e10 }, bpu: { opOverheadSeconds: 0 } } };
    expect(parsePerfConfig(config)).toEqual(config);
  });

  const bad: [string, unknown, RegExp][] = [
    ['an unknown top-level key', { chips: 'J6E' }, /unknown key `perf\.chips`/],
    ['an unknown nested key', { params: { bpu: { macsPerSecond: { int4xint4: 1 } } } }, /unknown key `perf\.params\.bpu\.macsPerSecond\.int4xint4`.*int8xint8/],
    ['a string for a number', { params: { ddr: { bytesPerSecond: '5e10' } } }, /`perf\.params\.ddr\.bytesPerSecond` must be a finite number > 0 in bytes\/s/],
    ['a zero rate', { params: { cpu: { macsPerSecond: 0 } } }, /> 0/],
    ['a negative overhead', { params: { vpu: { opOverheadSeconds: -1 } } }, /≥ 0/],
    ['a number where a group belongs', { params: { bpu: { macsPerSecond: 5 } } }, /`perf\.params\.bpu\.macsPerSecond` must be an object/],
    ['an empty chip', { chip: '' }, /`perf\.chip`/],
    ['a non-object', [1], /must be an object/],
  ];
  for (const [what, data, message] of bad) {
    it(`refuses ${what} with QK_CONFIG`, () => {
      expect(() => parsePerfConfig(data, 'quantkit.config.json')).toThrow(message);
      expect(() => parsePerfConfig(data, 'quantkit.config.json')).toThrow(expect.objectContaining({ code: 'QK_CONFIG', subject: 'quantkit.config.json' }));
    });
  }
});

describe('mergePerfParams', () => {
  it('replaces only the numbers given, at any depth, without touching the base', () => {
    const base = structuredClone(TEST_PARAMS);
    const merged = mergePerfParams(base, { bpu: { macsPerSecond: { int16xint16: 7 } } });
    expect(merged.bpu.macsPerSecond).toEqual({ ...TEST_PARAMS.bpu.macsPerSecond, int16xint16: 7 });
    expect(merged.cpu).toEqual(TEST_PARAMS.cpu);
    expect(base).toEqual(TEST_PARAMS);
  });
});

describe('resolvePerfParams and paramRows', () => {
  it('resolves the default chip, another chip by name, and lists every number with its unit and note', () => {
    const march = testMarch();
    expect(resolvePerfParams(march).chip.chip).toBe('T1');
    const { chip, params } = resolvePerfParams(march, { chip: 'T2', params: { ddr: { bytesPerSecond: 1 } } });
    expect(chip.chip).toBe('T2');
    const rows = paramRows(chip, params);
    const leaves = (tree: object): number => Object.values(tree).reduce<number>((n, v) => n + (typeof v === 'string' ? 1 : leaves(v as object)), 0);
    expect(rows).toHaveLength(leaves(PERF_PARAM_UNITS));
    expect(rows.find((r) => r.param === 'ddr.bytesPerSecond')).toMatchObject({ value: 1, unit: 'bytes/s', basis: 'override' });
    expect(rows.find((r) => r.param === 'bpu.macsPerSecond.int8xint8')).toMatchObject({ value: 2e12, unit: 'MAC/s', basis: 'assumption' });
  });
});
