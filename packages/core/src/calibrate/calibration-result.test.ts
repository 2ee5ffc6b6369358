import { describe, expect, it } from 'vitest';
import { QuantkitError } from '../errors/quantkit-error.js';
import { errorOf } from '../testing/error-of.js';
import { Value } from '../ir/value.js';
import type { Observer, ObserverFactory, ObserverOptions, ObserverState } from '../quant/observer.js';
import { CalibrationResult, mergeCalibrationResults, parseCalibFile, qparamsFor } from './calibration-result.js';

/** A toy observer: amax = the largest |x| seen; its state lists the batch maxima, so merge order shows. */
function peakFactory(kind = 'peak'): ObserverFactory {
  const make = (options: ObserverOptions, peaks: number[]): Observer => ({
    kind,
    options,
    observe: (data) => void peaks.push(Math.max(...Array.from(data, Math.abs))),
    state: () => ({ kind, dtype: options.dtype, granularity: options.granularity, peaks: [...peaks] }),
    merge: (state) => {
      if (state.kind !== kind) throw new Error(`not a ${kind} state`);
      peaks.push(...(state.peaks as number[]));
    },
    qparams: () => {
      if (peaks.length === 0) throw new QuantkitError('QK_CALIB_DATA', 'no data');
      const amax = Math.max(...peaks);
      return { ...options, amax: Float32Array.of(amax), scale: Float32Array.of(amax / 127.5) };
    },
  });
  return {
    kind,
    summary: 'test',
    create: (options) => make(options, []),
    restore: (state) => make({ dtype: state.dtype, granularity: state.granularity }, [...(state.peaks as number[])]),
  };
}

function result(peaks: Record<string, number[]>, samples: number, kind = 'peak'): CalibrationResult {
  const states = new Map<string, ObserverState>(
    Object.entries(peaks).map(([name, p]) => [name, { kind, granularity: { kind: 'per-tensor' }, dtype: 'qint8', peaks: p }]),
  );
  return new CalibrationResult(states, samples, kind);
}

describe('CalibrationResult', () => {
  it('serializes deterministically: header first, tensors and state keys sorted', () => {
    const a = result({ 'z': [1], '/b': [2], 'a': [3] }, 2);
    const json = a.toJSON();
    expect(Object.keys(json)).toEqual(['format', 'version', 'observer', 'samples', 'activations']);
    expect(Object.keys(json.activations)).toEqual(['/b', 'a', 'z']);
    expect(Object.keys(json.activations.a!)).toEqual(['dtype', 'granularity', 'kind', 'peaks']);
    const reordered = result({ 'a': [3], 'z': [1], '/b': [2] }, 2);
    expect(reordered.toText()).toBe(a.toText());
    expect(parseCalibFile(a.toText(), 'calib.json').toText()).toBe(a.toText());
  });

  it('rejects files that are not calib.json, naming the file', () => {
    const good = JSON.parse(result({ x: [1] }, 1).toText());
    const cases: [unknown, RegExp][] = [
      [[1], /not a JSON object/],
      [{ ...good, format: 'other' }, /"format" is "other"/],
      [{ ...good, version: 2 }, /version 2; this quantkit reads version 1/],
      [{ ...good, samples: -1 }, /"samples"/],
      [{ ...good, activations: { x: { kind: 'mse' } } }, /tensor 'x' is not a 'peak' observer state/],
    ];
    for (const [doc, message] of cases) {
      expect(() => parseCalibFile(JSON.stringify(doc), 'shard.json')).toThrow(message);
      expect(() => parseCalibFile(JSON.stringify(doc), 'shard.json')).toThrow(/shard\.json/);
    }
    expect(() => parseCalibFile('{', 'bad.json')).toThrow(/bad\.json is not valid JSON/);
  });
});

describe('mergeCalibrationResults', () => {
  it('restores the first state and merges the others in order, adding up the samples', () => {
    const merged = mergeCalibrationResults([result({ x: [1], y: [5] }, 2), result({ x: [3], y: [4] }, 1)], () =>
      peakFactory(),
    );
    expect(merged.samples).toBe(3);
    expect(merged.states.get('x')!.peaks).toEqual([1, 3]);
    expect(merged.states.get('y')!.peaks).toEqual([5, 4]);
  });

  it('refuses different observers, different tensor sets and unusable states', () => {
    const lookup = () => peakFactory();
    expect(() => mergeCalibrationResults([result({ x: [1] }, 1), result({ x: [1] }, 1, 'other')], lookup, ['a.json', 'b.json'])).toThrow(
      /Cannot merge b\.json \(observer 'other'\) with a\.json \(observer 'peak'\)/,
    );
    expect(() => mergeCalibrationResults([result({ x: [1], y: [1] }, 1), result({ x: [1], z: [2] }, 1)], lookup, ['a.json', 'b.json'])).toThrow(
      /different tensors \(b\.json lacks 'y' and has 'z' in addition\)/,
    );
    expect(() => mergeCalibrationResults([], lookup)).toThrow(/Nothing to merge/);
  });

  it("a shard's result records its origin before the states; merging checks the set, merges in shard order and drops it", () => {
    const run = { model: 'sha256 aa', data: 'random 3 (seed 0)' };
    const parts = [2, 0, 1].map((k) => result({ x: [k + 1] }, 1).asShard({ index: k, count: 3, run }));
    expect(Object.keys(parts[0]!.toJSON())).toEqual(['format', 'version', 'observer', 'samples', 'shard', 'activations']);
    const files = parts.map((part, i) => parseCalibFile(part.toText(), `part-${i}.json`));
    expect(files[0]!.shard).toEqual({ index: 2, count: 3, run });
    const merged = mergeCalibrationResults(files, () => peakFactory(), ['part-0.json', 'part-1.json', 'part-2.json']);
    expect(merged.states.get('x')!.peaks).toEqual([1, 2, 3]);
    expect(merged.shard).toBeUndefined();
    expect(merged.toText()).toBe(result({ x: [1, 2, 3] }, 3).toText());
  });

  it('refuses shards of different runs, missing shards and a mix of shards and full results, naming the file', () => {
    const lookup = () => peakFactory();
    const shard = (k: number, n: number, model = 'sha256 aa') => result({ x: [1] }, 1).asShard({ index: k, count: n, run: { model } });
    const names = ['a.json', 'b.json'];
    expect(errorOf(() => mergeCalibrationResults([shard(0, 2), shard(1, 2, 'sha256 bb')], lookup, names)).message).toContain(
      'Cannot merge b.json with a.json: they are calibration shards of different runs — model differs',
    );
    expect(errorOf(() => mergeCalibrationResults([shard(0, 3), shard(1, 3)], lookup, names)).message).toBe(
      'Calibration shard 2 of 3 is missing: got a.json, b.json',
    );
    expect(errorOf(() => mergeCalibrationResults([shard(0, 2), result({ x: [1] }, 1)], lookup, names)).message).toBe(
      'b.json is not a calibration shard: it records no shard number and run',
    );
  });

  it('names the first file when no loaded observer has its kind', () => {
    const lookup = (kind: string): ObserverFactory => {
      throw new QuantkitError('QK_CONFIG', `No loaded plugin provides the observer '${kind}'.`, { hint: 'Load it.' });
    };
    const error = errorOf(() => mergeCalibrationResults([result({ x: [1] }, 1)], lookup, ['a.json']));
    expect(error.message).toBe("a.json: No loaded plugin provides the observer 'peak'.");
    expect(error).toMatchObject({ code: 'QK_CONFIG', hint: 'Load it.', subject: 'a.json' });
  });
});

describe('qparamsFor', () => {
  it('derives qparams from the restored observer, undefined for tensors without a state', () => {
    const get = qparamsFor(result({ x: [2, 51] }, 2), peakFactory());
    const q = get(new Value('x'))!;
    expect(q.amax[0]).toBe(51);
    expect(q.scale[0]).toBeCloseTo(51 / 127.5, 6);
    expect(get(new Value('shared'))).toBeUndefined();
  });

  it('refuses a factory of another kind, and names the tensor when the state has no data', () => {
    expect(() => qparamsFor(result({ x: [1] }, 1), peakFactory('mse'))).toThrow(/come from observer 'peak', not 'mse'/);
    const fromFile = parseCalibFile(result({ x: [1] }, 1).toText(), 'shard.json');
    expect(() => qparamsFor(fromFile, peakFactory('mse'))).toThrow(/states of shard\.json come from observer 'peak', not 'mse'/);
    expect(() => qparamsFor(result({ x: [] }, 0), peakFactory())(new Value('x'))).toThrow(/tensor 'x': no data/);
  });
});
