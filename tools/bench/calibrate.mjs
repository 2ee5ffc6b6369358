// Calibration benchmark: `calibrate` of resnet18 on its 16 samples (minmax, mse) beside plain onnxruntime-node
// inference of the same 16 samples, in the same process; and peak RSS of a whole calibrate run with 64 random
// samples against 16 (each in a fresh child process).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median, modelPath, root } from './common.mjs';

export async function benchCalibrate({ model = 'resnet18', repeats = 3 } = {}) {
  const core = await import(path.join(root, 'packages/core/dist/index.js'));
  const { observersPlugin } = await import(path.join(root, 'packages/observers/dist/index.js'));
  const { outputPrecisionPlugin } = await import(path.join(root, 'packages/passes-output-precision/dist/index.js'));
  const quantkit = core.createQuantkit({ plugins: [observersPlugin, outputPrecisionPlugin] });
  const file = modelPath(model);
  const calibDir = path.join(path.dirname(file), 'calib');
  const float = core.loadModel(file);
  const prepared = (await core.prepare(float, { template: 'int8', pipeline: quantkit.pipeline('prepare') })).model;
  const spec = { kind: 'dir', path: calibDir };

  async function inference() {
    const session = await core.createSession(float);
    const source = await core.openCalibrationSource(spec, core.inputSpecs(float));
    for await (const sample of source.samples()) await core.runSession(session, sample.inputs);
    await core.releaseSession(session);
  }
  const timings = { inference: [], minmax: [], mse: [] };
  for (let i = 0; i < repeats; i++) {
    for (const [name, run] of [
      ['inference', inference],
      ['minmax', () => core.calibrate(prepared, { spec }, { observer: quantkit.observer('minmax') })],
      ['mse', () => core.calibrate(prepared, { spec }, { observer: quantkit.observer('mse') })],
    ]) {
      const start = performance.now();
      await run();
      timings[name].push(performance.now() - start);
    }
  }
  const base = median(timings.inference);
  const results = ['minmax', 'mse'].map((observer) => ({
    name: `calibrate ${model} 16 samples (${observer})`,
    quantkitMs: median(timings[observer]),
    baselineMs: base,
    baseline: 'onnxruntime-node inference of the same 16 samples',
    ratio: median(timings[observer]) / base,
    goal: observer === 'minmax' ? 'ratio <= 2' : 'ratio <= 3',
  }));

  const rss = (count) => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-bench-'));
    try {
      const text = execFileSync(process.execPath, [path.join(root, 'tools/bench/calibrate-child.mjs'), file, String(count), out], { encoding: 'utf8' });
      return JSON.parse(text).maxRssMb;
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  };
  const rss16 = rss(16);
  const rss64 = rss(64);
  results.push({
    name: `calibrate ${model} peak RSS, --random 64 vs --random 16`,
    quantkitMs: rss64,
    baselineMs: rss16,
    unit: 'MB',
    baseline: 'the same run with 16 samples',
    ratio: rss64 / rss16,
    goal: 'ratio <= 1.10',
  });
  return results;
}
