import { describe, expect, it } from 'vitest';
import { ContainerModule } from '../index.js';
import { Model } from '../ir/model.js';
import type { March } from '../march/march.js';
import type { QuantTemplate } from '../march/template.js';
import type { Pass, Phase } from '../pass/pass.js';
import type { ObserverFactory } from '../quant/observer.js';
import { createQuantkit } from './create-quantkit.js';
import { isQuantkitPlugin, type QuantkitPlugin } from './plugin.js';
import { MARCH, OBSERVER, PASS, TEMPLATE } from './tokens.js';
import { errorOf } from '../testing/error-of.js';

function pass(name: string, phase: Phase = 'prepare', after?: string[]): Pass {
  return { info: { name, summary: name, phase, after }, run: (model) => ({ model, modified: false }) };
}

function march(name: string): March {
  return {
    name,
    summary: `march ${name}`,
    chips: 'test chip',
    capabilities: { gemmInputs: ['int8'], gemmWeights: ['int8'], gemmOutputs: ['int32'] },
  };
}

function plugin(name: string, bindings: { passes?: Pass[]; marches?: March[]; observers?: ObserverFactory[]; templates?: QuantTemplate[] }): QuantkitPlugin {
  return {
    name,
    module: new ContainerModule(({ bind }) => {
      for (const p of bindings.passes ?? []) bind(PASS).toConstantValue(p);
      for (const m of bindings.marches ?? []) bind(MARCH).toConstantValue(m);
      for (const o of bindings.observers ?? []) bind(OBSERVER).toConstantValue(o);
      for (const t of bindings.templates ?? []) bind(TEMPLATE).toConstantValue(t);
    }),
  };
}

const names = (items: { info: { name: string } }[]) => items.map((p) => p.info.name);

describe('createQuantkit', () => {
  it('binds the passes and marches of every plugin', () => {
    const hpo = pass('high-precision-output');
    const quantkit = createQuantkit({
      plugins: [
        plugin('@quantkit/passes-output-precision', { passes: [hpo, pass('dequant-quant-to-rescale', 'convert')] }),
        plugin('@quantkit/march-nash-m', { marches: [march('nash-m')] }),
        plugin('@quantkit/march-nash-h', { marches: [march('nash-h')], passes: [pass('nash-h-lowering', 'convert')] }),
      ],
    });
    expect(names(quantkit.passes())).toEqual(['high-precision-output', 'dequant-quant-to-rescale', 'nash-h-lowering']);
    expect(quantkit.passes()[0]).toBe(hpo);
    expect(quantkit.marches().map((m) => m.name)).toEqual(['nash-m', 'nash-h']);
    expect(quantkit.march('nash-h').name).toBe('nash-h');
    expect(quantkit.plugins.map((p) => p.name)).toEqual([
      '@quantkit/passes-output-precision',
      '@quantkit/march-nash-m',
      '@quantkit/march-nash-h',
    ]);
  });

  it('with no plugins every registry is empty', () => {
    const quantkit = createQuantkit();
    expect([quantkit.passes(), quantkit.marches(), quantkit.observers(), quantkit.templates()]).toEqual([[], [], [], []]);
  });

  it('binds observers and templates and finds an observer by kind', () => {
    const minmax: ObserverFactory = {
      kind: 'minmax',
      summary: 'min/max',
      create: () => {
        throw new Error('not used');
      },
      restore: () => {
        throw new Error('not used');
      },
    };
    const int8: QuantTemplate = { name: 'int8', summary: 'int8', activation: 'qint8', weight: 'qint8', highPrecisionOutput: true };
    const quantkit = createQuantkit({ plugins: [plugin('obs', { observers: [minmax], templates: [int8] })] });
    expect(quantkit.observer('minmax')).toBe(minmax);
    expect(quantkit.templates()).toEqual([int8]);
    const error = errorOf(() => quantkit.observer('mse'));
    expect(error.code).toBe('QK_CONFIG');
    expect(error.hint).toContain('minmax');
  });

  it('two plugins registering different passes with one name → QK_DUPLICATE_REGISTRATION', () => {
    const quantkit = createQuantkit({
      plugins: [plugin('one', { passes: [pass('fuse')] }), plugin('two', { passes: [pass('fuse')] })],
    });
    const error = errorOf(() => quantkit.passes());
    expect(error.code).toBe('QK_DUPLICATE_REGISTRATION');
    expect(error.message).toContain("pass named 'fuse'");
    expect(errorOf(() => quantkit.pipeline('prepare')).code).toBe('QK_DUPLICATE_REGISTRATION');
  });

  it('two marches with one name are a duplicate too; the same object twice is not', () => {
    const shared = march('nash-m');
    expect(
      createQuantkit({ plugins: [plugin('a', { marches: [shared] }), plugin('b', { marches: [shared] })] }).marches(),
    ).toEqual([shared]);
    const clash = createQuantkit({ plugins: [plugin('a', { marches: [march('nash-m')] }), plugin('b', { marches: [march('nash-m')] })] });
    expect(errorOf(() => clash.march('nash-m')).code).toBe('QK_DUPLICATE_REGISTRATION');
  });

  it('loads a plugin listed twice once', () => {
    const twice = plugin('twice', { passes: [pass('only')] });
    const quantkit = createQuantkit({ plugins: [twice, twice] });
    expect(names(quantkit.passes())).toEqual(['only']);
    expect(quantkit.plugins).toEqual([twice]);
  });

  it('a plugin whose module throws → QK_PLUGIN_LOAD naming the plugin, keeping the cause', () => {
    const cause = new Error('missing peer dependency');
    const broken: QuantkitPlugin = {
      name: 'broken-plugin',
      module: new ContainerModule(() => {
        throw cause;
      }),
    };
    const error = errorOf(() => createQuantkit({ plugins: [broken] }));
    expect(error.code).toBe('QK_PLUGIN_LOAD');
    expect(error.message).toContain('broken-plugin');
    expect(error.message).toContain('missing peer dependency');
    expect(error.cause).toBe(cause);
  });

  it('a plugin module that throws a sentence or a non-Error → one full stop, and the plugin as subject', () => {
    const throwing = (value: unknown): QuantkitPlugin => ({
      name: 'p',
      module: new ContainerModule(() => {
        throw value;
      }),
    });
    expect(errorOf(() => createQuantkit({ plugins: [throwing(new Error('bad binding.'))] })).message).toBe('Plugin p failed to register: bad binding.');
    const error = errorOf(() => createQuantkit({ plugins: [throwing('oops')] }));
    expect(error.message).toBe('Plugin p failed to register: oops.');
    expect(error.subject).toBe('p');
  });
});

describe('Quantkit.march', () => {
  it("an unknown march → QK_MARCH_UNKNOWN with an install hint listing what is loaded", () => {
    const quantkit = createQuantkit({ plugins: [plugin('m', { marches: [march('nash-m')] })] });
    const error = errorOf(() => quantkit.march('nash-x'));
    expect(error.code).toBe('QK_MARCH_UNKNOWN');
    expect(error.message).toContain("'nash-x'");
    expect(error.hint).toContain('nash-m');
    expect(error.hint).toContain('@quantkit/march-nash-x');
  });

  it('with no march loaded the hint says what to install', () => {
    const error = errorOf(() => createQuantkit().march('nash-h'));
    expect(error.code).toBe('QK_MARCH_UNKNOWN');
    expect(error.hint).toContain('npm install @quantkit/march-nash-h');
  });
});

describe('Quantkit.pipeline', () => {
  const quantkit = createQuantkit({
    plugins: [
      plugin('late', { passes: [pass('reused-output-rescale', 'prepare', ['high-precision-output']), pass('lower', 'convert')] }),
      plugin('early', { passes: [pass('fold-constants'), pass('high-precision-output')] }),
    ],
  });

  it("pipeline('prepare') holds the prepare passes ordered by `after`", () => {
    const pipeline = quantkit.pipeline('prepare');
    expect(pipeline.describe()).toEqual(['high-precision-output', 'reused-output-rescale', 'fold-constants']);
    expect(pipeline.info).toMatchObject({ name: 'prepare-pipeline', phase: 'prepare' });
    expect(quantkit.pipeline('convert').describe()).toEqual(['lower']);
  });

  it('applies edits, which may only insert passes of the same phase', async () => {
    const pipeline = quantkit.pipeline('prepare', [{ drop: 'fold-constants' }]);
    expect(pipeline.describe()).toEqual(['high-precision-output', 'reused-output-rescale']);
    expect(errorOf(() => quantkit.pipeline('prepare', [{ insert: 'lower', after: 'high-precision-output' }])).code).toBe('QK_CONFIG');
    const run = await pipeline.execute(new Model());
    expect(run.timings.map((t) => t.pass)).toEqual(['high-precision-output', 'reused-output-rescale']);
  });

  it('leaves an opt-in pass out of the default pipeline; an insert edit adds it', () => {
    const optIn: Pass = { info: { name: 'equalize', summary: 'equalize', phase: 'prepare', optIn: true }, run: (model: Model) => ({ model, modified: false }) };
    const withOptIn = createQuantkit({ plugins: [plugin('p', { passes: [pass('fold-constants'), optIn] })] });
    expect(withOptIn.pipeline('prepare').describe()).toEqual(['fold-constants']);
    expect(withOptIn.pipeline('prepare', [{ insert: 'equalize', after: 'fold-constants' }]).describe()).toEqual(['fold-constants', 'equalize']);
  });
});

describe('isQuantkitPlugin', () => {
  it('accepts { name, module } and rejects other values', () => {
    expect(isQuantkitPlugin(plugin('p', {}))).toBe(true);
    expect(isQuantkitPlugin({ name: 'p' })).toBe(false);
    expect(isQuantkitPlugin({ module: {} })).toBe(false);
    expect(isQuantkitPlugin(null)).toBe(false);
    expect(isQuantkitPlugin('p')).toBe(false);
  });
});

describe('march-specific passes', () => {
  const pass = (name: string, march?: string): Pass => ({
    info: { name, summary: name, phase: 'convert', ...(march ? { march } : {}) },
    run: (model: Model) => ({ model, modified: false }),
  });
  const quantkit = createQuantkit({
    plugins: [
      {
        name: 'p',
        module: new ContainerModule(({ bind }) => {
          for (const p of [pass('common'), pass('only-m', 'nash-m'), pass('only-h', 'nash-h')]) bind(PASS).toConstantValue(p);
        }),
      },
    ],
  });

  it("a march's pipeline holds its own passes and the common ones, not another march's", () => {
    expect(quantkit.pipeline('convert', [], 'nash-m').describe()).toEqual(['common', 'only-m']);
    expect(quantkit.pipeline('convert', [], 'nash-h').describe()).toEqual(['common', 'only-h']);
  });

  it('without a march the pipeline holds every pass of the phase', () => {
    expect(quantkit.pipeline('convert').describe()).toEqual(['common', 'only-m', 'only-h']);
  });
});
