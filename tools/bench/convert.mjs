// Convert benchmark: `convert` of resnet18's qat.onnx beside the `calibrate` that made it (prepare + calibrate
// on its 16 samples + QDQ export), same run. Goal: convert under 10% of calibrate.
import path from 'node:path';
import { median, modelPath, root } from './common.mjs';

async function plugin(name) {
  const module = await import(path.join(root, `packages/${name}/dist/index.js`));
  return Object.values(module).find((v) => v && typeof v === 'object' && 'module' in v && 'name' in v);
}

export async function benchConvert({ model = 'resnet18', repeats = 3 } = {}) {
  const core = await import(path.join(root, 'packages/core/dist/index.js'));
  const quantkit = core.createQuantkit({
    plugins: await Promise.all(['observers', 'passes-output-precision', 'march-nash-m'].map(plugin)),
  });
  const file = modelPath(model);
  const spec = { kind: 'dir', path: path.join(path.dirname(file), 'calib') };
  const calibrateTimes = [];
  const convertTimes = [];
  for (let i = 0; i < repeats; i++) {
    let start = performance.now();
    const prepared = await core.prepare(core.loadModel(file), { template: 'int8', pipeline: quantkit.pipeline('prepare') });
    const result = await core.calibrate(prepared.model, { spec }, { observer: quantkit.observer('minmax') });
    const qat = core.exportQdq(prepared.model, core.qparamsFor(result, quantkit.observer('minmax'))).model;
    calibrateTimes.push(performance.now() - start);
    start = performance.now();
    await core.convert(qat, { march: quantkit.march('nash-m'), pipeline: quantkit.pipeline('convert', [], 'nash-m') });
    convertTimes.push(performance.now() - start);
  }
  const c = median(convertTimes);
  const b = median(calibrateTimes);
  return {
    name: `convert ${model} (nash-m)`,
    quantkitMs: c,
    baselineMs: b,
    baseline: 'calibrate of the same model (prepare + 16 samples + QDQ export)',
    ratio: c / b,
    goal: 'ratio < 0.10',
  };
}
