// Integer-model table: every model of ../shared/models, both templates, nash-m and nash-h: SQNR of qat.onnx and
// of the integer model against the float model, LSB agreement of the integer model with the QDQ simulation,
// and the CPU fallback count. Not a test (it needs ../shared); `node tools/bench/quantize-table.mjs [model…]`.
import path from 'node:path';
import { root } from './common.mjs';

const core = await import(path.join(root, 'packages/core/dist/index.js'));
const plugins = await Promise.all(
  ['observers', 'passes-output-precision', 'march-nash-m', 'march-nash-h'].map(async (p) => Object.values(await import(path.join(root, `packages/${p}/dist/index.js`))).find((v) => v && typeof v === 'object' && 'module' in v && 'name' in v)),
);
const quantkit = core.createQuantkit({ plugins });
const args = process.argv.slice(2);
const json = args.includes('--json');
const names = args.filter((a) => !a.startsWith('--'));
const models = names.length ? names : ['seed_small_single', 'seed_small_reuse', 'resnet18', 'mobilenet_v2', 'transformer_encoder', 'fpn_reuse'];
const marches = ['nash-m', 'nash-h'];
const rows = [];
if (!json) {
  console.log('| model | march | template | output | QDQ SQNR dB | integer SQNR dB | within 1 LSB: end to end | layer-wise | worst integer layer | fallback |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
}
for (const name of models) {
  const folder = path.resolve(root, '../shared/models', name);
  for (const march of marches) {
    for (const template of ['int8', 'int16']) {
      const result = await core.quantizeModel({
        modelPath: path.join(folder, 'model.onnx'),
        data: { kind: 'dir', path: path.join(folder, 'calib') },
        template,
        observer: quantkit.observer('minmax'),
        pipeline: quantkit.pipeline('prepare'),
        march: quantkit.march(march),
        convertPipeline: quantkit.pipeline('convert', [], march),
        version: 'bench',
      });
      for (const [output, m] of Object.entries(result.report.integer.outputs)) {
        const row = { model: name, march, template, output, qdqSqnrDb: result.report.outputs[output].sqnrDb, integerSqnrDb: m.sqnrDb, lsbAgreement: m.lsbAgreement, layerwise: m.lsbAgreementLayerwise, worstLayer: result.report.integer.layers[0]?.lsbAgreement ?? 1, fallback: result.report.fallback.length };
        rows.push(row);
        if (!json) {
          console.log(`| ${name} | ${march} | ${template} | ${output} | ${row.qdqSqnrDb.toFixed(2)} | ${row.integerSqnrDb.toFixed(2)} | ${(row.lsbAgreement * 100).toFixed(3)} % | ${(row.layerwise * 100).toFixed(3)} % | ${(row.worstLayer * 100).toFixed(3)} % | ${row.fallback} |`);
        }
      }
    }
  }
}
if (json) console.log(JSON.stringify(rows, null, 2));
