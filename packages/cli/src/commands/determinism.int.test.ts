import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runQuantkit as quantkit } from '../testing/run-cli.js';

/**
 * Determinism: `quantkit quantize` writes the same calib.json, qat.onnx, quantized.onnx and report.json, byte for
 * byte, run after run, with --workers 1 and --workers 2, and from shards merged by merge-calib. (report.json holds
 * no timings; the one field that says where the observer states came from is the only difference allowed.)
 */
const model = 'fixtures/models/fpn_reuse/model.onnx';
const calib = 'fixtures/calib/fpn_reuse';
const FILES = ['calib.json', 'qat.onnx', 'quantized.onnx', 'report.json'] as const;
let work: string;

function quantize(name: string, ...extra: string[]): string {
  const out = path.join(work, name);
  const result = quantkit('quantize', model, '--calib', calib, '--template', 'int16', '--march', 'nash-m', '--out', out, ...extra);
  expect(result.code, result.stderr).toBe(0);
  return out;
}

function read(dir: string, file: string): Buffer {
  return fs.readFileSync(path.join(dir, file));
}

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-determinism-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('quantize is deterministic', () => {
  let first: string;
  beforeAll(() => {
    first = quantize('first', '--workers', '1');
  });

  it('two runs with --workers 1 write identical files', () => {
    const again = quantize('again', '--workers', '1');
    for (const file of FILES) expect(read(again, file).equals(read(first, file)), file).toBe(true);
  });

  it('--workers 2 writes the same files as --workers 1', () => {
    const two = quantize('two-workers', '--workers', '2');
    for (const file of FILES) expect(read(two, file).equals(read(first, file)), file).toBe(true);
  });

  it('shards 0/2 and 1/2 merged by merge-calib give the same calib.json and models, and the same report', () => {
    const shards = [0, 1].map((k) => {
      const out = path.join(work, `shard-${k}`);
      const result = quantkit('calibrate', model, '--calib', calib, '--template', 'int16', '--shard', `${k}/2`, '--out', out);
      expect(result.code, result.stderr).toBe(0);
      return path.join(out, 'calib.json');
    });
    const merged = path.join(work, 'merged.json');
    const merge = quantkit('merge-calib', ...shards, '--out', merged);
    expect(merge.code, merge.stderr).toBe(0);
    expect(fs.readFileSync(merged).equals(read(first, 'calib.json'))).toBe(true);
    const fromShards = quantize('from-shards', '--from-calib', merged);
    for (const file of ['calib.json', 'qat.onnx', 'quantized.onnx'] as const) {
      expect(read(fromShards, file).equals(read(first, file)), file).toBe(true);
    }
    const a = JSON.parse(read(first, 'report.json').toString()) as Record<string, unknown>;
    const b = JSON.parse(read(fromShards, 'report.json').toString()) as Record<string, unknown>;
    const { calibration: ca, ...restA } = a;
    const { calibration: cb, ...restB } = b;
    expect(restB).toEqual(restA);
    expect((cb as { samples: number }).samples).toBe((ca as { samples: number }).samples);
  });
});

