// Codec benchmark: quantkit loadModel + saveModel beside Python onnx's load + serialize + write, same run.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median, modelPath, root } from './common.mjs';

export async function benchCodec({ repeats = 11, python = '/usr/bin/python3', model = 'resnet18' } = {}) {
  const { loadModel, saveModel } = await import(path.join(root, 'packages/core/dist/index.js'));
  const file = modelPath(model);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-bench-'));
  const ours = [];
  const theirs = [];
  try {
    // Alternate the two so that both see the same machine state (page cache, other load).
    for (let i = 0; i < repeats; i++) {
      const start = performance.now();
      saveModel(loadModel(file), path.join(work, 'quantkit.onnx'));
      ours.push(performance.now() - start);
      const out = execFileSync(python, [path.join(root, 'tools/bench/codec_baseline.py'), file, path.join(work, 'python.onnx'), '1'], { encoding: 'utf8' });
      theirs.push(...JSON.parse(out));
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  const q = median(ours);
  const p = median(theirs);
  return {
    name: `codec load+save ${model}`,
    quantkitMs: q,
    baselineMs: p,
    baseline: 'python onnx load + SerializeToString + write',
    ratio: q / p,
    goal: 'ratio <= 1.0',
  };
}
