// Cost-model benchmarks (not timings of quantkit: its latency estimates beside published or paired figures).
//   perf-anchors: each model of ../shared/perf-anchors, int8, `--march nash-m --chip J6E` as a float model
//     (default plan, placeholder scales) beside Horizon's hb_compile static estimate. Goal: ratio within 0.75–1.33.
//   perf-templates: each model of ../shared/models, int16 beside int8 on nash-m (J6E) and nash-h (J6P).
//     Goal: int16 / int8 > 1 (int16 never costs less). Symbolic input dims take the first calibration sample's.
// ../shared is found beside the repository; set QUANTKIT_SHARED=/path/to/shared otherwise.
import fs from 'node:fs';
import path from 'node:path';
import { root } from './common.mjs';

/** ../shared beside the repository, or QUANTKIT_SHARED (a worktree elsewhere). */
const shared = process.env.QUANTKIT_SHARED ?? path.resolve(root, '../shared');

/** Horizon's static estimates (µs, one BPU core, RDK S100 = J6E), from ../shared/perf-anchors/README.md. */
const HORIZON_STATIC_US = { mobilenet_v2: 201.3, efficientnet_lite0: 234.8, mobilenet_v3_large: 382.1 };

async function setup() {
  const core = await import(path.join(root, 'packages/core/dist/index.js'));
  const plugins = await Promise.all(
    ['passes-canonicalize', 'observers', 'passes-output-precision', 'march-nash-m', 'march-nash-h'].map(async (name) => {
      const module = await import(path.join(root, `packages/${name}/dist/index.js`));
      return Object.values(module).find((v) => v && typeof v === 'object' && 'module' in v && 'name' in v);
    }),
  );
  return { core, quantkit: core.createQuantkit({ plugins }) };
}

/** The input shapes of the first calibration sample beside `file` (for models with symbolic input dims). */
async function sampleShapes(core, file) {
  const calib = path.join(path.dirname(file), 'calib');
  if (!fs.existsSync(calib)) return undefined;
  const model = core.loadModel(file);
  const source = await core.openCalibrationSource({ kind: 'dir', path: calib }, core.inputSpecs(model));
  for await (const sample of source.samples()) return Object.fromEntries([...sample.inputs].map(([name, array]) => [name, array.shape]));
  return undefined;
}

async function estimate({ core, quantkit }, file, march, chip, template) {
  const result = await core.perfModel({
    model: core.loadModel(file),
    inputShapes: await sampleShapes(core, file),
    march: quantkit.march(march),
    chip,
    template,
    canonicalize: quantkit.pipeline('canonicalize'),
    preparePipeline: quantkit.pipeline('prepare'),
    convertPipeline: quantkit.pipeline('convert', [], march),
    name: path.basename(path.dirname(file)),
  });
  if (result.report.unknownShapes.length > 0) throw new Error(`${file}: ${result.report.unknownShapes.length} ops without a shape`);
  return result.report.totals.latencyUs;
}

export async function benchPerfAnchors() {
  const folder = path.join(shared, 'perf-anchors');
  const context = await setup();
  const results = [];
  for (const [name, horizon] of Object.entries(HORIZON_STATIC_US)) {
    const file = path.join(folder, name, 'model.onnx');
    if (!fs.existsSync(file)) throw new Error(`perf anchor ${file} not found`);
    const us = await estimate(context, file, 'nash-m', 'J6E', 'int8');
    results.push({
      name: `perf ${name} int8 on J6E`,
      quantkitMs: us,
      baselineMs: horizon,
      baseline: "Horizon's hb_compile static estimate",
      ratio: us / horizon,
      goal: 'ratio 0.75–1.33',
      unit: 'µs',
    });
  }
  return results;
}

export async function benchPerfTemplates() {
  const folder = path.join(shared, 'models');
  const context = await setup();
  const results = [];
  for (const name of fs.readdirSync(folder).sort()) {
    const file = path.join(folder, name, 'model.onnx');
    if (!fs.existsSync(file)) continue;
    for (const [march, chip] of [
      ['nash-m', 'J6E'],
      ['nash-h', 'J6P'],
    ]) {
      const int8 = await estimate(context, file, march, chip, 'int8');
      const int16 = await estimate(context, file, march, chip, 'int16');
      results.push({ name: `perf ${name} int16 on ${chip}`, quantkitMs: int16, baselineMs: int8, baseline: 'int8', ratio: int16 / int8, goal: 'ratio > 1', unit: 'µs' });
    }
  }
  return results;
}
