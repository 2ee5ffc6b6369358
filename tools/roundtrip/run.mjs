#!/usr/bin/env node
// Round trip against an independent decoder: every model.onnx of Debian's libonnx-testdata and of
// ../shared/models goes through decodeModel → encodeModel, and Python's onnx (Debian python3-onnx) must parse
// the result to a message equal to the original.
//
//   node tools/roundtrip/run.mjs [--python /usr/bin/python3] [--json] [extra model files or folders…]
//
// Needs `npm run build` first (it imports packages/core/dist). Prints a summary; exit 1 when any model differs.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const { decodeModel, encodeModel } = await import(path.join(root, 'packages/core/dist/index.js'));

const args = process.argv.slice(2);
const json = args.includes('--json');
const pythonAt = args.indexOf('--python');
const python = pythonAt >= 0 ? args[pythonAt + 1] : '/usr/bin/python3';
const extra = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--python');

function findModels(dir) {
  if (!fs.existsSync(dir)) return [];
  const found = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findModels(full));
    else if (entry.name.endsWith('.onnx')) found.push(full);
  }
  return found.sort();
}

const sources = [
  ['libonnx-testdata', findModels('/usr/share/libonnx-testdata')],
  ['shared/models', findModels(path.resolve(root, '../shared/models'))],
  ...extra.map((p) => [p, fs.statSync(p).isDirectory() ? findModels(p) : [p]]),
];
const check = spawnSync(python, ['-c', 'import onnx'], { encoding: 'utf8' });
if (check.status !== 0) {
  console.error(`${python} cannot import onnx. Install Debian's python3-onnx (apt-get install python3-onnx libonnx-testdata).`);
  process.exit(1);
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-roundtrip-'));
const pairs = [];
const failures = [];
let index = 0;
for (const [, files] of sources) {
  for (const file of files) {
    const out = path.join(work, `${index++}.onnx`);
    try {
      fs.writeFileSync(out, encodeModel(decodeModel(fs.readFileSync(file), { file })));
      pairs.push(`${file}\t${out}`);
    } catch (error) {
      failures.push({ file, error: `quantkit: ${error.message}` });
    }
  }
}
const output = execFileSync(python, [path.join(here, 'compare.py')], {
  input: pairs.join('\n') + '\n',
  maxBuffer: 64 * 2 ** 20,
  encoding: 'utf8',
});
const results = output.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
for (const r of results) if (!r.ok) failures.push({ file: r.file, error: r.error });
fs.rmSync(work, { recursive: true, force: true });

const summary = sources.map(([name, files]) => {
  const bad = failures.filter((f) => files.includes(f.file)).length;
  return { source: name, models: files.length, equal: files.length - bad };
});
if (json) console.log(JSON.stringify({ summary, failures }, null, 2));
else {
  for (const s of summary) console.log(`${s.source}: ${s.equal} / ${s.models} models round-trip to an equal message`);
  for (const f of failures.slice(0, 30)) console.log(`  differs: ${f.file}: ${f.error}`);
}
process.exit(failures.length ? 1 : 0);
