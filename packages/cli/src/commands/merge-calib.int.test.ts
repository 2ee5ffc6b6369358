import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliBin, repoRoot as root, runQuantkit as quantkit } from '../testing/run-cli.js';

const reuse = path.join(root, 'fixtures/models/seed_small_reuse/model.onnx');
const single = path.join(root, 'fixtures/models/seed_small_single/model.onnx');
const calib = path.join(root, 'fixtures/calib/seed');

let work: string;
/** calib.json of each shard calibrated in beforeAll, by name. */
const shards: Record<string, string> = {};

/** Calibrates shard `k` of 2 of `model` with `extra` flags into work/name, in a child process. */
function calibrateShard(name: string, k: number, extra: string[] = [], model = reuse, data = calib): Promise<void> {
  const out = path.join(work, name);
  shards[name] = path.join(out, 'calib.json');
  const args = [cliBin, 'calibrate', model, '--calib', data, '--shard', `${k}/2`, ...extra, '--out', out];
  return new Promise((resolve, reject) =>
    execFile(process.execPath, args, { cwd: root }, (error, _stdout, stderr) => (error ? reject(new Error(`${name}: ${stderr}`)) : resolve())),
  );
}

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-merge-calib-'));
  const fewer = path.join(work, 'fewer');
  fs.mkdirSync(fewer);
  for (const name of ['input_000.npy', 'input_001.npy', 'input_002.npy']) fs.copyFileSync(path.join(calib, name), path.join(fewer, name));
  // The shards run side by side, as they would on a cluster.
  await Promise.all([
    calibrateShard('s0', 0),
    calibrateShard('s1', 1),
    calibrateShard('other-model', 1, [], single),
    calibrateShard('other-template', 1, ['--template', 'int16']),
    calibrateShard('other-observer', 1, ['--observer', 'mse']),
    calibrateShard('other-data', 1, [], reuse, fewer),
  ]);
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** Runs merge-calib, expects exit 1 with `message` naming `file`, and checks that nothing was written. */
function refused(files: string[], file: string, message: string): void {
  const out = path.join(work, 'merged.json');
  const result = quantkit('merge-calib', ...files, '--out', out);
  expect(result.code, result.stderr).toBe(1);
  expect(result.stderr).toContain(message);
  expect(result.stderr).toContain(file);
  expect(fs.existsSync(out)).toBe(false);
}

describe('quantkit merge-calib refuses shards that are not one run, writing nothing', () => {
  it('accepts the two shards of one run, in any order', () => {
    const out = path.join(work, 'ok.json');
    expect(quantkit('merge-calib', shards.s1!, shards.s0!, '--out', out).code).toBe(0);
    expect(JSON.parse(fs.readFileSync(out, 'utf8'))).not.toHaveProperty('shard');
  });

  it('a shard of another model, template, observer or data', () => {
    const cases: [string, string][] = [
      ['other-model', 'they are calibration shards of different runs — model differs'],
      ['other-template', 'template differs ('],
      ['other-observer', 'observer differs ('],
      ['other-data', 'data differs ('],
    ];
    for (const [name, message] of cases) refused([shards.s0!, shards[name]!], shards[name]!, message);
  });

  it('a missing shard, and a shard given twice', () => {
    refused([shards.s0!], shards.s0!, 'Calibration shard 1 of 2 is missing');
    const copy = path.join(work, 'copy.json');
    fs.copyFileSync(shards.s1!, copy);
    refused([shards.s0!, shards.s1!, copy], copy, `${copy} and ${shards.s1} are both calibration shard 1 of 2`);
  });

  it('a calib.json that records no shard (a full run) among shards', () => {
    const { shard: _, ...full } = JSON.parse(fs.readFileSync(shards.s1!, 'utf8'));
    const file = path.join(work, 'full.json');
    fs.writeFileSync(file, JSON.stringify(full));
    refused([shards.s0!, file], file, 'is not a calibration shard');
  });

  it('calibrate --from-calib refuses one shard of several: it saw only part of the data', () => {
    const out = path.join(work, 'from-shard');
    const result = quantkit('calibrate', reuse, '--calib', calib, '--from-calib', shards.s1!, '--out', out);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${shards.s1} is calibration shard 1 of 2: it saw only part of the data`);
    expect(fs.existsSync(out)).toBe(false);
  });
});
