// Canonicalize check: every model of ../shared/models through the canonicalize phase (the default plugins'
// passes; the first calibration sample fixes symbolic dims), then the original and the canonical model in
// onnxruntime on all its calibration samples. Prints, per output, max |original − canonical| relative to the
// output's range, and fails (exit 1) when any exceeds 1e-4. Not a test (it needs ../shared); run after a build:
// `node tools/canonicalize-check.mjs [model…] [--shared DIR] [--json]` (DIR defaults to ../shared/models).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const core = await import(path.join(root, 'packages/core/dist/index.js'));
const { canonicalizePlugin } = await import(path.join(root, 'packages/passes-canonicalize/dist/index.js'));
const quantkit = core.createQuantkit({ plugins: [canonicalizePlugin] });
const pipeline = quantkit.pipeline('canonicalize');

const TOLERANCE = 1e-4;
const args = process.argv.slice(2);
const json = args.includes('--json');
const sharedAt = args.indexOf('--shared');
const shared = sharedAt >= 0 ? path.resolve(args[sharedAt + 1]) : path.resolve(root, '../shared/models');
const names = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--shared');
const models = names.length ? names : fs.readdirSync(shared).filter((n) => fs.existsSync(path.join(shared, n, 'model.onnx'))).sort();

const rows = [];
for (const name of models) {
  const folder = path.join(shared, name);
  const original = core.loadModel(path.join(folder, 'model.onnx'));
  const data = { kind: 'dir', path: path.join(folder, 'calib') };
  const start = performance.now();
  const result = await core.canonicalizeForFlow(original, { canonicalizePipeline: pipeline, data });
  const seconds = (performance.now() - start) / 1000;
  const agreement = await core.floatAgreement(original, result.model, data);
  const samples = fs.readdirSync(data.path).filter((f) => /\.np[yz]$/.test(f)).length;
  const shapes = Object.entries(result.inputShapes).map(([input, s]) => `${input}=${s.shape.join('x')}`).join(' ');
  for (const [output, a] of Object.entries(agreement)) {
    rows.push({ model: name, output, nodesBefore: result.summary.nodes.before, nodesAfter: result.summary.nodes.after, shapes, samples, ...a, seconds });
  }
}

if (json) {
  process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
} else {
  const header = ['model', 'output', 'nodes before → after', 'input shapes', 'samples', 'max |diff|', 'max |ref|', 'relative', 'ok'];
  const body = rows.map((r) => [
    r.model,
    r.output,
    `${r.nodesBefore} → ${r.nodesAfter}`,
    r.shapes,
    String(r.samples),
    r.maxAbs.toExponential(2),
    r.maxRef.toExponential(2),
    r.relative.toExponential(2),
    r.relative <= TOLERANCE ? 'yes' : 'NO',
  ]);
  const lines = [header, header.map(() => '---'), ...body].map((cells) => `| ${cells.join(' | ')} |`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
process.exitCode = rows.every((r) => r.relative <= TOLERANCE) ? 0 : 1;
