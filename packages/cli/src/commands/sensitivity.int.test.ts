import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliBin, repoRoot as root, runQuantkit as quantkit } from '../testing/run-cli.js';

const model = path.join(root, 'fixtures/models/seed_small_reuse/model.onnx');
const calib = path.join(root, 'fixtures/calib/seed');

let work: string;
const shards: Record<string, string> = {};

/** Analyses shard `k` of 2 with `extra` flags into work/name, in a child process. */
function shard(name: string, k: number, extra: string[] = []): Promise<void> {
  const out = path.join(work, name);
  shards[name] = path.join(out, 'sensitivity.json');
  const args = [cliBin, 'sensitivity', model, '--calib', calib, '--shard', `${k}/2`, ...extra, '--out', out];
  return new Promise((resolve, reject) =>
    execFile(process.execPath, args, { cwd: root }, (error, _stdout, stderr) => (error ? reject(new Error(`${name}: ${stderr}`)) : resolve())),
  );
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-sensitivity-'));
  await Promise.all([shard('s0', 0), shard('s1', 1), shard('other-template', 1, ['--template', 'int16']), shard('other-march', 1, ['--march', 'nash-h'])]);
}, 120_000);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function refused(files: string[], file: string, message: string): void {
  const out = path.join(work, 'merged.json');
  const result = quantkit('merge-sensitivity', ...files, '--out', out);
  expect(result.code, result.stderr).toBe(1);
  expect(result.stderr).toContain(message);
  expect(result.stderr).toContain(file);
  expect(fs.existsSync(out)).toBe(false);
}

describe('quantkit sensitivity', () => {
  it('prints the table with the columns of Horizon\'s sensitivity table, the JSON with --json', () => {
    const table = quantkit('sensitivity', model, '--calib', calib);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/op_name\s+sensitive_type\s+op_type\s+tensor\s+quant_dtype\s+SQNR alone dB/);
    // nash-m takes int16 weights: an inner GEMM's weight row has a measured gain, while a GEMM whose output is a
    // model output keeps int8 weights and says why.
    expect(table.stdout).toMatch(/\/linear1\/MatMul\s+weight\s+MatMul\+Add\s+\S+\s+qint8\s+[\d.]+\s+[\d.]+\s+\S+\s+-?\d+\.\d\d\s/);
    expect(table.stdout).toMatch(/\/linear3\/MatMul\s+weight[^\n]*n\/a: [^\n]*keeps qint8 weights/);
    expect(table.stderr).toMatch(/8 candidates in [\d.]+ s/);
    const json = quantkit('sensitivity', model, '--calib', calib, '--json');
    const report = JSON.parse(json.stdout);
    expect(report.format).toBe('quantkit-sensitivity');
    expect(report.rows).toHaveLength(8);
    expect(report).not.toHaveProperty('shard');
  });

  it('usage errors exit 2: --shard without --out, a shard index outside 0…n−1, no data', () => {
    expect(quantkit('sensitivity', model, '--calib', calib, '--shard', '0/2').code).toBe(2);
    expect(quantkit('sensitivity', model, '--calib', calib, '--shard', '4/4', '--out', path.join(work, 'x')).code).toBe(2);
    expect(quantkit('sensitivity', model).code).toBe(2);
  });

  it('a missing model exits 1 naming it', () => {
    const result = quantkit('sensitivity', path.join(work, 'nope.onnx'), '--calib', calib);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('nope.onnx');
  });
});

describe('quantkit merge-sensitivity refuses shards that are not one run, writing nothing', () => {
  it('accepts the two shards of one run', () => {
    const out = path.join(work, 'ok.json');
    expect(quantkit('merge-sensitivity', shards.s1!, shards.s0!, '--out', out).code).toBe(0);
    expect(JSON.parse(fs.readFileSync(out, 'utf8')).rows).toHaveLength(8);
  });

  it('shards of another template or march, a missing shard, a shard given twice', () => {
    refused([shards.s0!, shards['other-template']!], shards['other-template']!, 'template differs (');
    refused([shards.s0!, shards['other-march']!], shards['other-march']!, 'march differs (');
    refused([shards.s0!], shards.s0!, 'Sensitivity shard 1 of 2 is missing');
    const copy = path.join(work, 'copy.json');
    fs.copyFileSync(shards.s1!, copy);
    refused([shards.s0!, shards.s1!, copy], copy, `${copy} and ${shards.s1} are both sensitivity shard 1 of 2`);
  });

  it('a file that is not a sensitivity.json', () => {
    const file = path.join(work, 'calib.json');
    fs.writeFileSync(file, '{"format":"quantkit-calib"}');
    refused([shards.s0!, file], file, 'is not a quantkit sensitivity file');
  });
});

describe('quantkit quantize --precision auto', () => {
  it('raises tensors within the budget, writes the choice into report.json and an overrides.json that reproduces it', () => {
    const out = path.join(work, 'auto');
    const result = quantkit('quantize', model, '--calib', calib, '--march', 'nash-m', '--precision', 'auto', '--target-sqnr', '60', '--max-latency', '1.25x', '--out', out);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/int8\s+[\d.]+.*\n\s+chosen \(\d+ raised to int16\)\s+[\d.]+.*\n\s+int16 template/);
    const mixed = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')).mixedPrecision;
    expect(mixed.chosen.overrides.length).toBeGreaterThan(0);
    expect(mixed.chosen.sqnrDb).toBeGreaterThan(mixed.int8.sqnrDb);
    expect(mixed.chosen.latencyUs).toBeLessThanOrEqual(mixed.goal.budgetUs);
    // 60 dB is beyond even int16 for seed_small_reuse (int8 weights): the run says so and keeps the best it found.
    expect(mixed.reached).toBe(false);
    expect(result.stdout).toContain('target NOT reached within the budget');
    // Every kept step was re-measured: the choice's SQNR is the last kept step's, not a sum of table gains.
    const kept = mixed.steps.filter((s: { kept: boolean }) => s.kept);
    expect(kept.at(-1).sqnrDb).toBe(mixed.chosen.sqnrDb);
    const config = JSON.parse(fs.readFileSync(path.join(out, 'overrides.json'), 'utf8'));
    expect(config).toEqual({ template: 'int8', overrides: mixed.chosen.overrides });
    const again = path.join(work, 'again');
    const replay = quantkit('quantize', model, '--calib', calib, '--march', 'nash-m', '--config', path.join(out, 'overrides.json'), '--out', again);
    expect(replay.code, replay.stderr).toBe(0);
    expect(fs.readFileSync(path.join(again, 'qat.onnx')).equals(fs.readFileSync(path.join(out, 'qat.onnx')))).toBe(true);
  }, 120_000);

  it('a budget below the int8 plan exits 1; a target flag without --precision auto exits 2', () => {
    const out = path.join(work, 'too-tight');
    const tight = quantkit('quantize', model, '--calib', calib, '--march', 'nash-m', '--precision', 'auto', '--target-sqnr', '40', '--max-latency', '1us', '--out', out);
    expect(tight.code).toBe(1);
    expect(tight.stderr).toMatch(/latency budget 1us \(1\.0 µs\) is below the int8 plan's estimated [\d.]+ µs/);
    expect(fs.existsSync(out)).toBe(false);
    expect(quantkit('quantize', model, '--calib', calib, '--march', 'nash-m', '--target-sqnr', '40', '--out', out).code).toBe(2);
    expect(quantkit('quantize', model, '--calib', calib, '--march', 'nash-m', '--precision', 'auto', '--max-latency', 'soon', '--out', out).code).toBe(2);
  });
});
