#!/usr/bin/env node
// Release check for every package under packages/ (run after `npm run build`):
// 1. `npm pack --dry-run` holds package.json, README.md, LICENSE and dist/ only — plus bin/ for the CLI's
//    launcher — and at least the entry points package.json names;
// 2. package.json carries the metadata a registry page needs, and plugins the keyword `quantkit-plugin`.
// Prints one line per package; exits 1 listing every problem.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NOT_PLUGINS = new Set(['@quantkit/core', '@quantkit/cli', '@quantkit/report-html']);
const METADATA = ['name', 'version', 'description', 'license', 'author', 'homepage', 'repository', 'bugs', 'keywords', 'engines', 'publishConfig', 'files', 'exports', 'type'];

/** Problems with one package, as sentences. */
export function checkPackage(dir) {
  const problems = [];
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  for (const key of METADATA) if (pkg[key] === undefined || pkg[key] === '') problems.push(`package.json has no "${key}"`);
  if (pkg.license !== 'MIT') problems.push(`license is ${JSON.stringify(pkg.license)}, not "MIT"`);
  if (pkg.publishConfig?.access !== 'public') problems.push('publishConfig.access is not "public" (a scoped package would publish as private)');
  if (!pkg.repository?.url || pkg.repository?.directory !== path.relative(root, dir)) problems.push('repository needs url and directory');
  if (!pkg.engines?.node) problems.push('engines.node is missing');
  const plugin = !NOT_PLUGINS.has(pkg.name);
  if (plugin && !pkg.keywords?.includes('quantkit-plugin')) problems.push('a plugin needs the keyword "quantkit-plugin"');

  const output = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const files = JSON.parse(output)[0].files.map((f) => f.path);
  const allowed = (file) =>
    ['package.json', 'README.md', 'LICENSE'].includes(file) || file.startsWith('dist/') || (pkg.bin !== undefined && file.startsWith('bin/'));
  for (const file of files) if (!allowed(file)) problems.push(`the tarball holds ${file}`);
  const required = ['package.json', 'README.md', 'LICENSE', pkg.main, pkg.types, ...Object.values(pkg.bin ?? {})].filter(Boolean).map((f) => path.normalize(f));
  for (const file of required) if (!files.includes(file)) problems.push(`the tarball lacks ${file}${file.startsWith('dist') ? ' (run npm run build first)' : ''}`);
  return { name: pkg.name, files, problems };
}

export function checkAll() {
  const dirs = fs.readdirSync(path.join(root, 'packages')).map((d) => path.join(root, 'packages', d)).filter((d) => fs.existsSync(path.join(d, 'package.json')));
  return dirs.map(checkPackage);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const results = checkAll();
  for (const r of results) console.log(`${r.problems.length ? 'FAIL' : 'ok  '} ${r.name}: ${r.files.length} files`);
  const failed = results.filter((r) => r.problems.length > 0);
  for (const r of failed) for (const p of r.problems) console.error(`${r.name}: ${p}`);
  process.exitCode = failed.length > 0 ? 1 : 0;
}
