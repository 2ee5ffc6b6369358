// External-data benchmark: generates a float model past protobuf's 2 GiB (a stack of wide MatMuls, weights in a
// .data file beside it), runs `quantkit calibrate --random 4` on it as a whole process, and reports its time and
// peak RSS against the size of the weights (goal: RSS <= 1.5x the weights).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root } from './common.mjs';

export async function benchExternalData({ width = 8192, layers = 9 } = {}) {
  const core = await import(path.join(root, 'packages/core/dist/index.js'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-external-'));
  try {
    const file = path.join(dir, 'model', 'model.onnx');
    fs.mkdirSync(path.dirname(file));
    const b = new core.GraphBuilder('wide');
    let x = b.input('x', core.DataType.FLOAT, [1, width]);
    let seed = 1;
    for (let l = 0; l < layers; l++) {
      const w = new Float32Array(width * width);
      for (let i = 0; i < w.length; i++) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        w[i] = (seed / 2 ** 32 - 0.5) / Math.sqrt(width);
      }
      const weight = b.initializer(`w${l}`, core.Tensor.fromArray(w, [width, width]));
      [x] = b.node('MatMul', [x, weight], { outputs: [`h${l}`] });
      if (l < layers - 1) [x] = b.node('Relu', [x], { outputs: [`r${l}`] });
    }
    b.output(x, core.DataType.FLOAT, [1, width]);
    core.saveModel(b.model({ '': 17 }), file, { externalData: 'always' });
    const weights = fs.statSync(`${file}.data`).size;
    const out = path.join(dir, 'out');
    const args = ['-f', '%e %M', process.execPath, path.join(root, 'packages/cli/dist/bin.js'), 'calibrate', file, '--random', '4', '--out', out];
    const run = spawnSync('/usr/bin/time', args, { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`calibrate failed: ${run.stderr}`);
    const [seconds, kb] = run.stderr.trim().split('\n').pop().split(' ').map(Number);
    const rss = kb * 1024;
    return [
      {
        name: `calibrate a ${(weights / 2 ** 30).toFixed(2)} GiB external-data model (${layers} MatMuls ${width}x${width}), --random 4: ${seconds.toFixed(1)} s`,
        quantkitMs: rss / 2 ** 20,
        baselineMs: weights / 2 ** 20,
        unit: 'MB',
        baseline: 'the size of its weights',
        ratio: rss / weights,
        goal: 'ratio <= 1.5',
      },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
