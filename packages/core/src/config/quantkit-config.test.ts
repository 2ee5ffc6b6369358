import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QuantTemplate } from '../march/template.js';
import {
  CONFIG_FILE_NAME,
  emptyConfig,
  findQuantkitConfig,
  isPluginPath,
  loadQuantkitConfig,
  parseQuantkitConfig,
  resolveTemplate,
} from './quantkit-config.js';
import { errorOf } from '../testing/error-of.js';

const dir = path.resolve('/projects/app');
const parse = (data: unknown) => parseQuantkitConfig(data, { source: 'cfg.json', dir });

describe('parseQuantkitConfig', () => {
  it('accepts every key; plugin paths become absolute against the config folder, package names stay', () => {
    const config = parse({
      plugins: ['@acme/quantkit-passes', './plugins/keep-float', '../shared/plugin.js', '/opt/plugin'],
      template: 'int16',
      reusedOutputs: 'quantize',
      overrides: [{ opType: 'Softmax', dtype: 'qint16' }],
      observer: { kind: 'minmax', averagingConstant: 0.01 },
      pipeline: {
        prepare: [{ drop: 'reused-output-rescale' }, { insert: 'keep-float', after: 'high-precision-output' }],
        convert: [{ insert: 'fold', before: 'lower' }],
      },
      perf: { chip: 'J6E' },
    });
    expect(config).toEqual({
      perf: { chip: 'J6E' },
      dir,
      plugins: ['@acme/quantkit-passes', path.join(dir, 'plugins/keep-float'), path.resolve(dir, '../shared/plugin.js'), path.resolve('/opt/plugin')],
      template: 'int16',
      reusedOutputs: 'quantize',
      overrides: [{ opType: 'Softmax', dtype: 'qint16' }],
      observer: { kind: 'minmax', options: { averagingConstant: 0.01 } },
      pipeline: {
        prepare: [{ drop: 'reused-output-rescale' }, { insert: 'keep-float', after: 'high-precision-output' }],
        convert: [{ insert: 'fold', before: 'lower' }],
      },
    });
  });

  it('keeps the keys of the calibrate --config format working', () => {
    const config = parse({ template: 'int8', reusedOutputs: 'rescale', overrides: [{ node: '/head/*', dtype: 'float' }] });
    expect(config).toMatchObject({ template: 'int8', reusedOutputs: 'rescale', overrides: [{ node: '/head/*', dtype: 'float' }] });
    expect(config.plugins).toEqual([]);
    expect(config.pipeline).toEqual({});
  });

  it('an observer may be a bare kind', () => {
    expect(parse({ observer: 'mse' }).observer).toEqual({ kind: 'mse' });
  });

  it.each([
    [[], 'cfg.json: the top level must be a JSON object'],
    [{ plugin: [] }, 'cfg.json: unknown key `plugin` (known keys: plugins, template, overrides, reusedOutputs, observer, pipeline, perf)'],
    [{ plugins: './x' }, '`plugins` must be an array'],
    [{ plugins: ['ok', 3] }, '`plugins[1]` must be a package name or a path (got 3)'],
    [{ plugins: [' '] }, '`plugins[0]`'],
    [{ template: 4 }, '`template` must be a template name'],
    [{ reusedOutputs: 'yes' }, 'cfg.json: `reusedOutputs` must be one of rescale, quantize'],
    [{ overrides: [{ node: 'a', dtype: 'int8' }] }, 'cfg.json: `overrides[0].dtype` must be one of qint8, qint16, float'],
    [{ observer: 7 }, '`observer` must be an observer kind'],
    [{ observer: { averagingConstant: 0.1 } }, '`observer` must be an observer kind'],
    [{ pipeline: [] }, '`pipeline` must be an object'],
    [{ pipeline: { calibrate: [] } }, 'unknown key `pipeline.calibrate` (phases: canonicalize, prepare, convert)'],
    [{ pipeline: { prepare: {} } }, '`pipeline.prepare` must be an array'],
    [{ pipeline: { prepare: [{ drop: 'a' }, { insert: 'b' }] } }, '`pipeline.prepare[1]` must be one of'],
    [{ pipeline: { prepare: [{ insert: 'b', after: 'a', before: 'c' }] } }, '`pipeline.prepare[0]` must be one of'],
    [{ pipeline: { convert: [{ drop: '' }] } }, '`pipeline.convert[0].drop` must be a pass name'],
    [{ pipeline: { prepare: ['drop a'] } }, '`pipeline.prepare[0]` must be one of'],
    [{ perf: { chips: 'J6E' } }, 'cfg.json: unknown key `perf.chips`'],
  ])('rejects %j naming the file and key', (data, message) => {
    const error = errorOf(() => parse(data));
    expect(error.code).toBe('QK_CONFIG');
    expect(error.subject).toBe('cfg.json');
    expect(error.message).toContain(message);
  });
});

describe("the README's example config", () => {
  it('is valid', () => {
    const readme = fs.readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration'));
    const json = /```json\n([\s\S]*?)```/.exec(section)![1]!;
    const config = parse(JSON.parse(json));
    expect(config.plugins).toHaveLength(2);
    expect(Object.keys(config.pipeline)).toEqual(['prepare', 'convert']);
  });
});

describe('loadQuantkitConfig and findQuantkitConfig', () => {
  let work = '';
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'quantkit-config-'));
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('reads a file, resolving plugin paths against its folder and keeping its text', () => {
    const folder = path.join(work, 'project');
    fs.mkdirSync(folder);
    const text = JSON.stringify({ plugins: ['./my-plugin'], template: 'int16' });
    fs.writeFileSync(path.join(folder, CONFIG_FILE_NAME), text);
    expect(findQuantkitConfig(folder)).toBe(path.join(folder, CONFIG_FILE_NAME));
    expect(findQuantkitConfig(work)).toBeUndefined();
    const config = loadQuantkitConfig(path.join(folder, CONFIG_FILE_NAME));
    expect(config.plugins).toEqual([path.join(folder, 'my-plugin')]);
    expect(config.file).toBe(path.join(folder, CONFIG_FILE_NAME));
    expect(config.dir).toBe(folder);
    expect(config.text).toBe(text);
  });

  it('a missing file, invalid JSON and a bad key are errors naming the file', () => {
    expect(errorOf(() => loadQuantkitConfig(path.join(work, 'none.json'))).code).toBe('QK_FILE_NOT_FOUND');
    const broken = path.join(work, 'broken.json');
    fs.writeFileSync(broken, '{ "plugins": [');
    expect(errorOf(() => loadQuantkitConfig(broken))).toMatchObject({ code: 'QK_CONFIG', message: expect.stringContaining(`${broken} is not valid JSON`) });
    const typo = path.join(work, 'typo.json');
    fs.writeFileSync(typo, '{ "pipline": {} }');
    expect(errorOf(() => loadQuantkitConfig(typo)).message).toContain(`${typo}: unknown key \`pipline\``);
  });
});

describe('resolveTemplate', () => {
  const custom: QuantTemplate = { name: 'int16-weights8', summary: 'a plugin template', activation: 'qint16', weight: 'qint8', highPrecisionOutput: false };

  it('a flag wins over the config, the config over int8; plugin templates count', () => {
    const config = { ...emptyConfig(dir), file: '/p/quantkit.config.json', template: 'int16' };
    expect(resolveTemplate(emptyConfig(dir)).name).toBe('int8');
    expect(resolveTemplate(config).name).toBe('int16');
    expect(resolveTemplate(config, [], 'int8').name).toBe('int8');
    expect(resolveTemplate({ ...config, template: 'int16-weights8' }, [custom])).toBe(custom);
  });

  it("an unknown template in the config names the file and lists the known ones", () => {
    const error = errorOf(() => resolveTemplate({ ...emptyConfig(dir), file: '/p/quantkit.config.json', template: 'int4' }, [custom]));
    expect(error.code).toBe('QK_CONFIG');
    expect(error.message).toContain("/p/quantkit.config.json: `template` names an unknown template 'int4'");
    expect(error.hint).toContain('int8, int16, int16w, int16-weights8');
  });
});

describe('isPluginPath', () => {
  it('tells paths from package names', () => {
    expect(['./a', '../a', '/a', '.'].map(isPluginPath)).toEqual([true, true, true, true]);
    expect(['a', '@scope/a', 'a/b.js'].map(isPluginPath)).toEqual([false, false, false]);
  });
});
