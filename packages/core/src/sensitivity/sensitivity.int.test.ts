import path from 'node:path';
import { minMaxObserverFactory } from '@quantkit/observers';
import { beforeAll, describe, expect, it } from 'vitest';
import { compare } from '../compare/compare-models.js';
import type { CalibrationSpec } from '../data/calibration-data.js';
import { QuantkitError } from '../errors/quantkit-error.js';
import { calibrateModel } from '../flow/calibrate-model.js';
import type { Override } from '../prepare/overrides.js';
import { Pipeline } from '../pass/pass-manager.js';
import { testMarch } from '../perf/__fixtures__/test-march.js';
import { mergeSensitivityReports, sensitivityText } from './merge-sensitivity.js';
import { analyseSensitivity, type SensitivityOptions, type SensitivityReport } from './sensitivity.js';

const root = path.resolve(__dirname, '../../../..');
const modelPath = path.join(root, 'fixtures/models/seed_small_reuse/model.onnx');
const data: CalibrationSpec = { kind: 'dir', path: path.join(root, 'fixtures/calib/seed') };
const options: SensitivityOptions = {
  modelPath,
  data,
  observer: minMaxObserverFactory,
  march: testMarch(),
  convertPipeline: new Pipeline('convert', 'convert', []),
  version: 'test',
};

let full: SensitivityReport;
beforeAll(async () => {
  full = await analyseSensitivity(options);
}, 120_000);

/** The worst output's SQNR of the model `overrides` give, measured over all samples as the table measures. */
async function quantizedSqnr(overrides: Override[]): Promise<number> {
  const result = await calibrateModel({ ...options, overrides });
  const report = await compare(result.float, result.qat, data);
  return Math.min(...Object.values(report.outputs).map((o) => o.sqnrDb));
}

describe('analyseSensitivity', () => {
  it('case 5: one row per candidate (every quantized activation, every GEMM weight), most sensitive first', () => {
    expect(full.rows).toHaveLength(full.candidates);
    const types = full.rows.map((r) => r.sensitiveType);
    expect(types.filter((t) => t === 'weight')).toHaveLength(3);
    expect(types.filter((t) => t === 'activation').length).toBeGreaterThanOrEqual(4);
    const alone = full.rows.map((r) => r.alone.sqnrDb);
    expect(alone).toEqual([...alone].sort((a, b) => a - b));
    // Quantizing one tensor loses less than quantizing all of them.
    for (const row of full.rows) expect(row.alone.sqnrDb, row.tensor).toBeGreaterThan(full.quantized.sqnrDb);
    // seed_small_reuse has two outputs: the headline is the worst one's.
    expect(Object.keys(full.quantized.outputs!)).toEqual(['z', 'y']);
    expect(full.quantized.sqnrDb).toBe(Math.min(full.quantized.outputs!.z!.sqnrDb, full.quantized.outputs!.y!.sqnrDb));
  });

  it('case 2: the top row with an int16 variant gains what re-quantizing with its override gains', async () => {
    const top = full.rows.find((r) => r.int16 !== null)!;
    expect(top.int16!.override).toEqual({ node: top.op, dtype: 'qint16' });
    const base = await quantizedSqnr([]);
    const raised = await quantizedSqnr([top.int16!.override as Override]);
    expect(base).toBeCloseTo(full.quantized.sqnrDb, 6);
    expect(raised - base).toBeCloseTo(top.int16!.gainDb, 6);
    // The best gain is a real one, not rounding noise.
    const best = Math.max(...full.rows.map((r) => r.int16?.gainDb ?? -Infinity));
    expect(best).toBeGreaterThan(0.5);
  }, 120_000);

  it('case 4: no int16 variant for a graph input, nor for weights on a march without int16 weights', () => {
    const input = full.rows.find((r) => r.tensor === 'input')!;
    expect(input).toMatchObject({ op: '', opType: 'graph input', int16: null, int16Unavailable: 'n/a: a graph input has no node to override' });
    for (const row of full.rows.filter((r) => r.sensitiveType === 'weight')) {
      expect(row.int16).toBeNull();
      expect(row.int16Unavailable).toBe(`n/a: ${options.march.name} has no int16 weights`);
    }
    // Raising costs latency or nothing, never less.
    for (const row of full.rows) if (row.int16) expect(row.int16.latencyUs, row.tensor).toBeGreaterThanOrEqual(0);
  });

  it('case 5: three shards, merged, are one run byte for byte; a missing or repeated shard is refused', async () => {
    const shards = [];
    for (let index = 0; index < 3; index++) shards.push(await analyseSensitivity({ ...options, shard: { index, count: 3 } }));
    expect(shards.map((s) => s.rows.length).reduce((a, b) => a + b)).toBe(full.candidates);
    const names = ['s0.json', 's1.json', 's2.json'];
    const merged = mergeSensitivityReports([shards[2]!, shards[0]!, shards[1]!], [names[2]!, names[0]!, names[1]!]);
    expect(sensitivityText(merged)).toBe(sensitivityText(full));
    const refusal = (reports: SensitivityReport[], files: string[]) => {
      try {
        mergeSensitivityReports(reports, files);
      } catch (error) {
        return error as QuantkitError;
      }
      throw new Error('merged');
    };
    expect(refusal(shards.slice(0, 2), names.slice(0, 2)).message).toContain('Sensitivity shard 2 of 3 is missing');
    expect(refusal([...shards, shards[1]!], [...names, 'copy.json']).message).toContain('copy.json and s1.json are both sensitivity shard 1 of 3');
    expect(refusal([full], ['full.json']).message).toContain('full.json is not a sensitivity shard');
  }, 120_000);
});
