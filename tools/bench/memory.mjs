// Memory benchmark: peak RSS of `quantkit calibrate --random 64` against `--random 16` on the same model, each a
// whole process (GNU time's maximum resident set size). Memory must not grow with the number of samples
// (goal: ratio <= 1.1).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { modelPath, root } from './common.mjs';

const MODELS = [
  { name: 'resnet18', args: [] },
  { name: 'lcnet_dbnet', args: ['--input-shape', 'x=1x3x160x160'] },
];

function peakRss(model, samples, extra, out) {
  const args = ['-f', '%M', process.execPath, path.join(root, 'packages/cli/dist/bin.js'), 'calibrate', model, '--random', String(samples), ...extra, '--out', out];
  const run = spawnSync('/usr/bin/time', args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`calibrate --random ${samples} of ${model} failed: ${run.stderr}`);
  return Number(run.stderr.trim().split('\n').pop()) * 1024;
}

export async function benchMemory({ small = 16, large = 64 } = {}) {
  if (!fs.existsSync('/usr/bin/time')) throw new Error('the memory benchmark needs GNU time (apt-get install time)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-memory-'));
  try {
    return MODELS.map(({ name, args }) => {
      const model = modelPath(name);
      const few = peakRss(model, small, args, path.join(dir, `${name}-${small}`));
      const many = peakRss(model, large, args, path.join(dir, `${name}-${large}`));
      return {
        name: `${name} calibrate peak RSS, --random ${large} against --random ${small}`,
        quantkitMs: many / 2 ** 20,
        baselineMs: few / 2 ** 20,
        unit: 'MB',
        baseline: `--random ${small}`,
        ratio: many / few,
        goal: 'ratio <= 1.1',
      };
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
