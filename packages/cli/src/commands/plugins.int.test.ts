import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot as root, runQuantkitIn as quantkit } from '../testing/run-cli.js';

// Plugins written into a temp folder import the built core by URL, as an installed plugin would import it.
const core = pathToFileURL(path.join(root, 'packages/core/dist/index.js')).href;
const single = path.join(root, 'fixtures/models/seed_small_single/model.onnx');


const OFFICIAL = {
  marches: ['nash-m', 'nash-h'],
  observers: ['minmax', 'mse'],
  passes: ['high-precision-output', 'reused-output-rescale', 'dequant-quant-to-rescale'],
};

let work: string;
const plugin = (name: string, source: string) => {
  const file = path.join(work, name);
  fs.writeFileSync(file, source);
  return `./${name}`;
};
beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-plugins-'));
  plugin('throws-on-import.mjs', "throw new Error('boom while importing');\n");
  plugin('exports-nothing.mjs', 'export const answer = 42;\n');
  plugin(
    'module-throws.mjs',
    `import { ContainerModule } from '${core}';
export default { name: 'module-throws', module: new ContainerModule(() => { throw new Error('cannot bind'); }) };\n`,
  );
  plugin(
    'clash.mjs',
    `import { ContainerModule, PASS } from '${core}';
const pass = { info: { name: 'high-precision-output', summary: 'an impostor', phase: 'prepare' }, run: (model) => ({ model, modified: false }) };
export default { name: 'clash', module: new ContainerModule(({ bind }) => { bind(PASS).toConstantValue(pass); }) };\n`,
  );
  plugin(
    'returns-binding.mjs',
    `import { ContainerModule, PASS } from '${core}';
const pass = { info: { name: 'x', summary: 'x', phase: 'prepare' }, run: (model) => ({ model, modified: false }) };
export default { name: 'returns-binding', module: new ContainerModule(({ bind }) => bind(PASS).toConstantValue(pass)) };\n`,
  );
  plugin(
    'good.mjs',
    `import { ContainerModule, PASS, TEMPLATE } from '${core}';
const pass = { info: { name: 'noop', summary: 'does nothing', phase: 'convert', after: ['dequant-quant-to-rescale'] }, run: (model) => ({ model, modified: false }) };
const template = { name: 'int16-plain', summary: 'int16 without high-precision outputs', activation: 'qint16', weight: 'qint8', highPrecisionOutput: false };
export const goodPlugin = { name: 'good-plugin', version: '1.2.3', module: new ContainerModule(({ bind }) => { bind(PASS).toConstantValue(pass); bind(TEMPLATE).toConstantValue(template); }) };\n`,
  );
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('quantkit plugins', () => {
  it('--json lists the marches, observers, passes (with phase) and templates of the official plugins, with package and version', () => {
    const result = quantkit(work, 'plugins', '--json');
    expect(result.code, result.stderr).toBe(0);
    const listing = JSON.parse(result.stdout);
    expect(listing.config).toBeNull();
    expect(listing.failures).toEqual([]);
    for (const name of OFFICIAL.marches) expect(listing.marches).toContainEqual(expect.objectContaining({ name, plugin: `@quantkit/march-${name}` }));
    for (const kind of OFFICIAL.observers) expect(listing.observers).toContainEqual(expect.objectContaining({ kind, plugin: '@quantkit/observers' }));
    for (const name of OFFICIAL.passes) {
      expect(listing.passes).toContainEqual(expect.objectContaining({ name, plugin: '@quantkit/passes-output-precision', phase: expect.stringMatching(/^(prepare|convert)$/) }));
    }
    expect(listing.passes.find((p: { name: string }) => p.name === 'dequant-quant-to-rescale').phase).toBe('convert');
    expect(listing.templates.map((t: { name: string }) => t.name)).toEqual(['int8', 'int16', 'int16w']);
    const versions = new Map(listing.plugins.map((p: { name: string; version: string }) => [p.name, p.version]));
    for (const item of [...listing.marches, ...listing.observers, ...listing.passes, ...listing.templates]) {
      expect(item.version).toMatch(/^\d+\.\d+\.\d+/);
      if (item.plugin !== '@quantkit/core') expect(item.version).toBe(versions.get(item.plugin));
    }
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'packages/observers/package.json'), 'utf8'));
    expect(versions.get('@quantkit/observers')).toBe(pkg.version);
  });

  it('prints the same as a table', () => {
    const result = quantkit(work, 'plugins');
    expect(result.code).toBe(0);
    for (const name of [...OFFICIAL.marches, ...OFFICIAL.observers, ...OFFICIAL.passes]) expect(result.stdout).toContain(name);
    expect(result.stdout).toMatch(/convert\s+dequant-quant-to-rescale\s+@quantkit\/passes-output-precision \d/);
  });

  it('names each plugin that fails to load with its reason; the rest still load; exit 1', () => {
    const broken = ['./throws-on-import.mjs', './exports-nothing.mjs', './module-throws.mjs', './returns-binding.mjs', './clash.mjs', './missing.mjs', '@quantkit-nope/not-there'];
    const result = quantkit(work, 'plugins', '--json', '--plugin', ...broken, './good.mjs');
    expect(result.code).toBe(1);
    const listing = JSON.parse(result.stdout);
    const reasons = Object.fromEntries(listing.failures.map((f: { specifier: string; reason: string }) => [f.specifier, f.reason]));
    expect(Object.keys(reasons)).toEqual(broken);
    expect(reasons['./throws-on-import.mjs']).toContain('boom while importing');
    expect(reasons['./exports-nothing.mjs']).toContain('exports no quantkit plugin');
    expect(reasons['./module-throws.mjs']).toContain('cannot bind');
    expect(reasons['./returns-binding.mjs']).toContain('must not return anything');
    expect(reasons['./clash.mjs']).toContain("pass 'high-precision-output', which @quantkit/passes-output-precision registers too");
    expect(reasons['./missing.mjs']).toContain('not found');
    expect(reasons['@quantkit-nope/not-there']).toContain('not installed');
    expect(listing.failures.every((f: { origin: string }) => f.origin === 'flag')).toBe(true);
    // The official plugins and the good one still work.
    expect(listing.passes).toContainEqual(expect.objectContaining({ name: 'noop', phase: 'convert', plugin: 'good-plugin', version: '1.2.3', after: ['dequant-quant-to-rescale'] }));
    expect(listing.passes.find((p: { name: string }) => p.name === 'high-precision-output').plugin).toBe('@quantkit/passes-output-precision');
    expect(listing.templates).toContainEqual(expect.objectContaining({ name: 'int16-plain', plugin: 'good-plugin' }));
    expect(listing.marches.map((m: { name: string }) => m.name)).toEqual(OFFICIAL.marches);
    expect(result.stderr).toContain('7 plugins did not load');
  });

  it('a verb keeps working with a broken plugin, warning about it on stderr', () => {
    const out = path.join(work, 'calibrated');
    const result = quantkit(work, 'calibrate', single, '--random', '2', '--plugin', './throws-on-import.mjs', '--plugin', './good.mjs', '--template', 'int16-plain', '--out', out, '--json');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('warning: plugin ./throws-on-import.mjs did not load: boom while importing');
    expect(JSON.parse(result.stdout).config.template).toBe('int16-plain');
  });

  it('a plugin listed in the config loads relative to the config file, from any working folder', () => {
    const project = path.join(work, 'project');
    fs.mkdirSync(project, { recursive: true });
    fs.writeFileSync(path.join(project, 'quantkit.config.json'), JSON.stringify({ plugins: ['../good.mjs'] }));
    const result = quantkit(root, 'plugins', '--json', '--config', path.join(project, 'quantkit.config.json'));
    expect(result.code, result.stderr).toBe(0);
    const listing = JSON.parse(result.stdout);
    expect(listing.plugins).toContainEqual(expect.objectContaining({ name: 'good-plugin', origin: 'config', specifier: path.join(work, 'good.mjs') }));
  });
});
