#!/usr/bin/env node
// Installing selected plugins works: in a fresh folder outside the repo, `npm install` the packed tarballs of the
// CLI, core, report-html, observers, passes-output-precision and march-nash-m only, then run `quantkit quantize --march nash-m`
// (must work) and `--march nash-h` (must exit 1 naming the package to install). Needs `npm run build` and the
// npm registry (for onnxruntime-node, inversify, protobufjs, …). Prints what it did; exit 1 on a failure.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const packages = ['cli', 'core', 'report-html', 'observers', 'passes-output-precision', 'march-nash-m'];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-install-'));
const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_onnxruntime_node_install: 'skip' };
const fail = (message) => {
  console.error(`check-install: ${message}`);
  process.exit(1);
};
try {
  const tarballs = packages.map((name) => {
    const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: path.join(root, 'packages', name), encoding: 'utf8', env });
    return path.join(work, out.trim().split('\n').pop());
  });
  const app = path.join(work, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  console.log(`installing ${packages.join(', ')} from their tarballs into ${app}`);
  execFileSync('npm', ['install', '--no-audit', '--no-fund', ...tarballs], { cwd: app, stdio: 'inherit', env });
  const bin = path.join(app, 'node_modules/.bin/quantkit');
  const seed = path.join(root, 'fixtures/models/seed_small_reuse/model.onnx');
  const calib = path.join(root, 'fixtures/calib/seed');
  const run = (march) => spawnSync(bin, ['quantize', seed, '--calib', calib, '--march', march, '--out', path.join(app, march)], { cwd: app, encoding: 'utf8' });
  const m = run('nash-m');
  if (m.status !== 0) fail(`quantize --march nash-m exited ${m.status}:\n${m.stderr}`);
  if (!fs.existsSync(path.join(app, 'nash-m', 'quantized.onnx'))) fail('quantize --march nash-m wrote no quantized.onnx');
  console.log('quantize --march nash-m: exit 0, quantized.onnx written');
  const h = run('nash-h');
  if (h.status !== 1) fail(`quantize --march nash-h exited ${h.status}, not 1:\n${h.stderr}`);
  if (!h.stderr.includes('@quantkit/march-nash-h')) fail(`quantize --march nash-h did not name the package to install:\n${h.stderr}`);
  console.log(`quantize --march nash-h: exit 1 — ${h.stderr.trim().split('\n').join(' / ')}`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
