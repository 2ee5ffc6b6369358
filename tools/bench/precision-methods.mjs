// The int8 methods that cost no latency, each on and off: runs the built CLI's `quantize` (int8, nash-m) on the
// shared models with both observers, once per method set, and prints per model the output SQNR of quantized.onnx
// against the float model over ALL calibration samples (`quantkit compare`), the median per-layer SQNR of
// report.json, and for ppocr_cls the top-1 agreement of quantized.onnx with the float model on its labelled eval
// samples. Not a test (it needs ../shared and a build): `node tools/bench/precision-methods.mjs [model…] [--json]`.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median, modelPath, root } from './common.mjs';

const core = await import(path.join(root, 'packages/core/dist/index.js'));
const bin = path.join(root, 'packages/cli/dist/bin.js');

/** Method sets: the config's canonicalize pipeline edits that turn each on. */
const METHODS = {
  none: [],
  cle: [{ insert: 'equalize-cross-layer', after: 'fold-affine' }],
};
const args = process.argv.slice(2);
const json = args.includes('--json');
const names = args.filter((a) => !a.startsWith('--'));
const models = names.length
  ? names
  : ['seed_small_single', 'seed_small_reuse', 'resnet18', 'mobilenet_v2', 'transformer_encoder', 'fpn_reuse', 'lcnet_dbnet', 'ppocr_cls'];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-methods-'));

const quantkit = (...argv) => execFileSync(process.execPath, [bin, ...argv], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** argmax agreement of two models' first output over the .npy samples of `folder`. */
async function top1Agreement(reference, test, folder) {
  const files = fs.readdirSync(folder).filter((f) => f.endsWith('.npy')).sort();
  const sessions = await Promise.all([reference, test].map((file) => core.createSession(core.runnableModel(core.loadModel(file)))));
  const input = core.loadModel(reference).graph.inputs[0].name;
  const output = core.loadModel(reference).graph.outputs[0].name;
  let agree = 0;
  const argmax = (data) => data.reduce((best, v, i) => (v > data[best] ? i : best), 0);
  for (const file of files) {
    const array = core.parseNpy(fs.readFileSync(path.join(folder, file)));
    const feeds = new Map([[input, array]]);
    const a = (await core.runSession(sessions[0], feeds)).get(output);
    const b = (await core.runSession(sessions[1], feeds)).get(output);
    if (argmax(Array.from(a.data)) === argmax(Array.from(b.data))) agree++;
  }
  await Promise.all(sessions.map((s) => core.releaseSession(s)));
  return { agree, of: files.length };
}

const rows = [];
for (const name of models) {
  const model = modelPath(name);
  const folder = path.dirname(model);
  const calib = fs.existsSync(path.join(folder, 'calib')) ? path.join(folder, 'calib') : path.join(root, 'fixtures/calib', name);
  for (const observer of ['minmax', 'mse']) {
    for (const [method, edits] of Object.entries(METHODS)) {
      const out = path.join(work, `${name}-${observer}-${method}`);
      const config = path.join(work, `${method}.json`);
      fs.writeFileSync(config, JSON.stringify({ pipeline: { canonicalize: edits } }));
      quantkit('quantize', model, '--calib', calib, '--march', 'nash-m', '--template', 'int8', '--observer', observer, '--config', config, '--out', out);
      const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
      const layers = report.layers.map((l) => l.sqnrDb).filter(Number.isFinite);
      const compared = JSON.parse(quantkit('compare', model, path.join(out, 'quantized.onnx'), '--calib', calib, '--json'));
      const row = { model: name, observer, method, medianLayerDb: median(layers), layers: layers.length, outputs: {} };
      for (const [output, m] of Object.entries(compared.outputs)) row.outputs[output] = m.sqnrDb;
      if (fs.existsSync(path.join(folder, 'eval'))) row.top1 = await top1Agreement(model, path.join(out, 'quantized.onnx'), path.join(folder, 'eval'));
      rows.push(row);
      if (!json) process.stderr.write(`${name} ${observer} ${method}\n`);
    }
  }
}
fs.rmSync(work, { recursive: true, force: true });
if (json) console.log(JSON.stringify(rows, null, 2));
else {
  const methods = Object.keys(METHODS);
  console.log(`| model | output | ${['minmax', 'mse'].flatMap((o) => methods.map((m) => `${o} ${m}`)).join(' | ')} |`);
  console.log(`| --- | --- | ${methods.flatMap(() => ['---', '---']).join(' | ')} |`);
  const get = (model, o, m) => rows.find((r) => r.model === model && r.observer === o && r.method === m);
  for (const model of models) {
    const first = get(model, 'minmax', 'none');
    const cells = (f) => ['minmax', 'mse'].flatMap((o) => methods.map((m) => f(get(model, o, m))));
    for (const output of Object.keys(first.outputs)) console.log(`| ${model} | ${output} | ${cells((r) => r.outputs[output].toFixed(2)).join(' | ')} |`);
    console.log(`| ${model} | median layer (${first.layers}) | ${cells((r) => r.medianLayerDb.toFixed(2)).join(' | ')} |`);
    if (first.top1) console.log(`| ${model} | top-1 vs float | ${cells((r) => `${r.top1.agree}/${r.top1.of}`).join(' | ')} |`);
  }
}
