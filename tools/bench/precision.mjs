// Precision table: every model of ../shared/models, both templates and both observers, calibrated on its 16
// samples; SQNR per output of qat.onnx against the float model on the first sample, beside the weight-only
// floor. Not a test (it needs ../shared); run `node tools/bench/precision.mjs [model…] [--json]`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { root } from './common.mjs';

const core = await import(path.join(root, 'packages/core/dist/index.js'));
const { observersPlugin } = await import(path.join(root, 'packages/observers/dist/index.js'));
const { outputPrecisionPlugin } = await import(path.join(root, 'packages/passes-output-precision/dist/index.js'));
const quantkit = core.createQuantkit({ plugins: [observersPlugin, outputPrecisionPlugin] });

const args = process.argv.slice(2);
const json = args.includes('--json');
const shared = path.resolve(root, '../shared/models');
const names = args.filter((a) => !a.startsWith('--'));
const models = names.length ? names : ['seed_small_single', 'seed_small_reuse', 'resnet18', 'mobilenet_v2', 'transformer_encoder', 'fpn_reuse'];
const rows = [];
for (const name of models) {
  const folder = path.join(shared, name);
  for (const template of ['int8', 'int16']) {
    for (const observer of ['minmax', 'mse']) {
      const start = performance.now();
      const result = await core.calibrateModel({
        modelPath: path.join(folder, 'model.onnx'),
        data: { kind: 'dir', path: path.join(folder, 'calib') },
        template,
        observer: quantkit.observer(observer),
        pipeline: quantkit.pipeline('prepare'),
        version: 'bench',
      });
      const seconds = (performance.now() - start) / 1000;
      for (const [output, m] of Object.entries(result.report.outputs)) {
        rows.push({ model: name, output, template, observer, sqnrDb: m.sqnrDb, weightOnlyDb: m.weightOnly.sqnrDb, cosine: m.cosine, seconds });
      }
      if (!json) process.stderr.write(`${name} ${template} ${observer}: ${seconds.toFixed(1)} s\n`);
    }
  }
}
if (json) console.log(JSON.stringify(rows, null, 2));
else {
  console.log('| model | output | floor (weights only) | int8 minmax | int8 mse | int16 minmax | int16 mse |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  const keys = [...new Set(rows.map((r) => `${r.model}\t${r.output}`))];
  for (const key of keys) {
    const [model, output] = key.split('\t');
    const get = (t, o) => rows.find((r) => r.model === model && r.output === output && r.template === t && r.observer === o);
    const floor = get('int8', 'minmax').weightOnlyDb;
    console.log(`| ${model} | ${output} | ${floor.toFixed(2)} | ${['int8', 'int16'].flatMap((t) => ['minmax', 'mse'].map((o) => get(t, o).sqnrDb.toFixed(2))).join(' | ')} |`);
  }
}
