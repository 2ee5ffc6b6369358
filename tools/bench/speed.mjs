// Speed benchmark: for each model, as whole processes in the same run, plain onnxruntime inference of its 16
// calibration samples, `quantkit calibrate` (minmax, mse) and `quantkit quantize` on the same samples, each as a
// ratio to plain inference; peak RSS of each run; and torch.ao's PTQ of resnet18 beside `quantkit quantize` when
// python3-torch is installed (skipped, and said so, when it is not).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { modelPath, root } from './common.mjs';

const MODELS = ['resnet18', 'mobilenet_v2', 'transformer_encoder', 'lcnet_dbnet', 'ppocr_cls'];
const GOALS = { 'calibrate minmax': 2, 'calibrate mse': 3, quantize: 5 };

/** Runs a command to completion; returns its wall time (ms) and peak RSS (MB, from /usr/bin/time when present). */
function timed(command, args) {
  const time = fs.existsSync('/usr/bin/time');
  const rssFile = path.join(os.tmpdir(), `quantkit-bench-rss-${process.pid}`);
  const [cmd, argv] = time ? ['/usr/bin/time', ['-f', '%M', '-o', rssFile, command, ...args]] : [command, args];
  const start = performance.now();
  const result = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 26 });
  const ms = performance.now() - start;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  const rssMb = time ? Number(fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop()) / 1024 : NaN;
  return { ms, rssMb };
}

// Debian's python3-torch installs into /usr/lib/python3/dist-packages, which only Debian's own interpreter sees: a
// `python3` earlier on PATH (pyenv, a venv) cannot import it.
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

function hasTorch() {
  const probe = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  return probe.status === 0;
}

export async function benchSpeed({ models = process.env.QUANTKIT_BENCH_MODELS?.split(',') ?? MODELS } = {}) {
  const bin = path.join(root, 'packages/cli/dist/bin.js');
  const results = [];
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-speed-'));
  try {
    for (const model of models) {
      const file = modelPath(model);
      const calib = path.join(path.dirname(file), 'calib');
      const plain = timed(process.execPath, [path.join(root, 'tools/bench/infer-child.mjs'), file, calib]);
      const runs = {
        'calibrate minmax': ['calibrate', file, '--calib', calib, '--observer', 'minmax', '--out', path.join(out, `${model}-minmax`)],
        'calibrate mse': ['calibrate', file, '--calib', calib, '--observer', 'mse', '--out', path.join(out, `${model}-mse`)],
        quantize: ['quantize', file, '--calib', calib, '--march', 'nash-m', '--out', path.join(out, `${model}-quantize`)],
      };
      console.error(`${model}: plain inference ${plain.ms.toFixed(0)} ms`);
      for (const [what, args] of Object.entries(runs)) {
        const run = timed(process.execPath, [bin, ...args]);
        console.error(`${model}: ${what} ${run.ms.toFixed(0)} ms (${(run.ms / plain.ms).toFixed(2)}x), peak RSS ${run.rssMb.toFixed(0)} MB`);
        results.push({
          name: `${what} ${model} (peak RSS ${run.rssMb.toFixed(0)} MB; plain ${plain.rssMb.toFixed(0)} MB)`,
          quantkitMs: run.ms,
          baselineMs: plain.ms,
          baseline: 'plain onnxruntime inference of the same samples (whole process)',
          ratio: run.ms / plain.ms,
          goal: `ratio <= ${GOALS[what]}`,
        });
      }
      if (model === 'resnet18') {
        if (!hasTorch()) {
          console.error('torch.ao comparison skipped: python3-torch / python3-torchvision are not installed');
        } else {
          const torch = timed(PYTHON, [path.join(root, 'tools/bench/torch_ptq.py'), calib]);
          const quantize = results.at(-1);
          results.push({
            name: 'quantize resnet18 against torch.ao PTQ (prepare_fx + calibrate + convert_fx, whole process)',
            quantkitMs: quantize.quantkitMs,
            baselineMs: torch.ms,
            baseline: 'torch.ao',
            ratio: quantize.quantkitMs / torch.ms,
            goal: 'ratio < 1',
          });
        }
      }
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
  return results;
}
