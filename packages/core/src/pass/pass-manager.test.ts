import { describe, expect, it } from 'vitest';
import { isQuantkitError, QuantkitError } from '../errors/quantkit-error.js';
import { Model } from '../ir/model.js';
import { editPipeline, orderPasses, Pipeline } from './pass-manager.js';
import type { Pass, PassContext, PassResult, Phase } from './pass.js';
import { errorOf } from '../testing/error-of.js';

function pass(name: string, options: { after?: string[]; phase?: Phase; run?: Pass['run'] } = {}): Pass {
  return {
    info: { name, summary: `test pass ${name}`, phase: options.phase ?? 'prepare', after: options.after },
    run: options.run ?? ((model) => ({ model, modified: false })),
  };
}

const names = (passes: readonly Pass[]) => passes.map((p) => p.info.name);

async function failureOf(promise: Promise<unknown>): Promise<QuantkitError> {
  try {
    await promise;
  } catch (error) {
    if (isQuantkitError(error)) return error;
    throw error;
  }
  throw new Error('expected a QuantkitError');
}

describe('orderPasses', () => {
  it('keeps registration order when nothing constrains it', () => {
    expect(names(orderPasses([pass('c'), pass('a'), pass('b')]))).toEqual(['c', 'a', 'b']);
  });

  it('moves a pass after the passes it names in `after`', () => {
    const ordered = orderPasses([pass('late', { after: ['early'] }), pass('other'), pass('early')]);
    expect(names(ordered)).toEqual(['early', 'late', 'other']);
  });

  it('follows chains of `after` and leaves unconstrained passes in place', () => {
    const ordered = orderPasses([
      pass('a'),
      pass('d', { after: ['c'] }),
      pass('b'),
      pass('c', { after: ['b'] }),
      pass('e'),
    ]);
    expect(names(ordered)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('ignores `after` names that are not in the list', () => {
    expect(names(orderPasses([pass('b', { after: ['absent'] }), pass('a')]))).toEqual(['b', 'a']);
  });

  it('a cycle is QK_CONFIG naming exactly the passes in it', () => {
    const error = errorOf(() =>
      orderPasses([pass('start', { after: ['x'] }), pass('x', { after: ['y'] }), pass('y', { after: ['z'] }), pass('z', { after: ['x'] })]),
    );
    expect(error.code).toBe('QK_CONFIG');
    expect(error.message).toContain('x → y → z → x');
    expect(error.message).not.toContain('start');
  });

  it('a pass that must run after itself is a cycle', () => {
    expect(errorOf(() => orderPasses([pass('self', { after: ['self'] })])).message).toContain('self → self');
  });
});

describe('editPipeline', () => {
  const available = [pass('a'), pass('b'), pass('c'), pass('extra')];
  const pipeline = available.slice(0, 3);

  it('drops a pass', () => {
    expect(names(editPipeline(pipeline, [{ drop: 'b' }], available))).toEqual(['a', 'c']);
  });

  it('inserts a registered pass after or before another', () => {
    expect(names(editPipeline(pipeline, [{ insert: 'extra', after: 'c' }], available))).toEqual(['a', 'b', 'c', 'extra']);
    expect(names(editPipeline(pipeline, [{ insert: 'extra', before: 'a' }], available))).toEqual(['extra', 'a', 'b', 'c']);
    expect(names(editPipeline(pipeline, [{ insert: 'extra', after: 'a' }], available))).toEqual(['a', 'extra', 'b', 'c']);
  });

  it('applies edits in order and leaves the input pipeline alone', () => {
    const edited = editPipeline(pipeline, [{ drop: 'a' }, { insert: 'extra', before: 'c' }, { drop: 'b' }], available);
    expect(names(edited)).toEqual(['extra', 'c']);
    expect(names(pipeline)).toEqual(['a', 'b', 'c']);
  });

  it('an unknown pass to drop or to place against is QK_CONFIG listing the pipeline', () => {
    for (const edit of [{ drop: 'nope' }, { insert: 'extra', after: 'nope' }, { insert: 'extra', before: 'nope' }]) {
      const error = errorOf(() => editPipeline(pipeline, [edit], available));
      expect(error.code).toBe('QK_CONFIG');
      expect(error.message).toContain("'nope'");
      expect(error.message).toContain('a, b, c');
    }
  });

  it('inserting an unregistered pass is QK_CONFIG listing the registered ones', () => {
    const error = errorOf(() => editPipeline(pipeline, [{ insert: 'ghost', after: 'a' }], available));
    expect(error.code).toBe('QK_CONFIG');
    expect(error.message).toContain("'ghost'");
    expect(error.hint).toContain('a, b, c, extra');
  });
});

describe('Pipeline.execute', () => {
  it('runs passes in order, threading the model and collecting modified, timings and diagnostics', async () => {
    const seen: string[] = [];
    const replacement = new Model();
    const pipeline = new Pipeline('p', 'prepare', [
      pass('one', {
        run: (model, context) => {
          seen.push('one');
          context.diagnose({ level: 'info', message: 'hello', node: 'n1' });
          return { model: replacement, modified: true };
        },
      }),
      pass('two', {
        run: async (model, context) => {
          seen.push(`two:${model === replacement}:${String(context.options.flag)}:${context.march}`);
          return { model, modified: false };
        },
      }),
    ]);
    const run = await pipeline.execute(new Model(), { march: 'nash-m', options: { flag: 7 } });
    expect(seen).toEqual(['one', 'two:true:7:nash-m']);
    expect(run.model).toBe(replacement);
    expect(run.modified).toBe(true);
    expect(run.diagnostics).toEqual([{ pass: 'one', level: 'info', message: 'hello', node: 'n1' }]);
    expect(run.timings.map((t) => [t.pass, t.modified])).toEqual([
      ['one', true],
      ['two', false],
    ]);
    expect(pipeline.describe()).toEqual(['one', 'two']);
  });

  it('wraps a throwing pass in QK_PASS_FAILED naming it and the passes before it, keeping the cause', async () => {
    const boom = new TypeError('cannot read shape of undefined');
    const pipeline = new Pipeline('p', 'prepare', [
      pass('fold'),
      pass('fuse'),
      pass('broken', {
        run: () => {
          throw boom;
        },
      }),
      pass('never'),
    ]);
    const error = await failureOf(pipeline.execute(new Model()));
    expect(error.code).toBe('QK_PASS_FAILED');
    expect(error.message).toContain("Pass 'broken' (prepare) failed after fold, fuse");
    expect(error.message).toContain('cannot read shape of undefined');
    expect(error.cause).toBe(boom);
    expect(error.hint).toContain('bug in the pass');
  });

  it('says when the failing pass ran first, and keeps the hint of a QuantkitError', async () => {
    const inner = new QuantkitError('QK_UNSUPPORTED', 'Node conv has 5-D weights.', { hint: 'Reshape the weights.' });
    const pipeline = new Pipeline('p', 'convert', [
      pass('lower', {
        phase: 'convert',
        run: async () => {
          throw inner;
        },
      }),
    ]);
    const error = await failureOf(pipeline.execute(new Model()));
    expect(error.message).toBe("Pass 'lower' (convert) failed as the first pass: Node conv has 5-D weights.");
    expect(error.cause).toBe(inner);
    expect(error.hint).toBe('Reshape the weights.');
  });

  it('a failing requires / ensures check is wrapped too, and run is skipped when requires fails', async () => {
    let ran = false;
    const checked: Pass = {
      ...pass('checked', { run: (model) => ((ran = true), { model, modified: false }) }),
      requires: () => {
        throw new QuantkitError('QK_GRAPH_INVALID', 'needs shapes');
      },
    };
    const error = await failureOf(new Pipeline('p', 'prepare', [checked]).execute(new Model()));
    expect(error.code).toBe('QK_PASS_FAILED');
    expect(error.message).toContain('needs shapes');
    expect(ran).toBe(false);

    const ensured: Pass = {
      ...pass('ensured'),
      ensures: () => {
        throw new QuantkitError('QK_GRAPH_INVALID', 'left a dangling value');
      },
    };
    expect((await failureOf(new Pipeline('p', 'prepare', [pass('first'), ensured]).execute(new Model()))).message).toContain(
      "'ensured' (prepare) failed after first: left a dangling value",
    );
  });

  it('calls hooks before and after each pass, in order', async () => {
    const events: string[] = [];
    const model = new Model();
    const pipeline = new Pipeline('p', 'prepare', [
      pass('a', { run: (m) => (events.push('run a'), { model: m, modified: true }) }),
      pass('b', { run: (m) => (events.push('run b'), { model: m, modified: false }) }),
    ]);
    await pipeline.execute(model, {
      hooks: {
        before: (p, m) => events.push(`before ${p.info.name} ${m === model}`),
        after: (p, result: PassResult, ms) => events.push(`after ${p.info.name} ${result.modified} ${ms >= 0}`),
      },
    });
    expect(events).toEqual(['before a true', 'run a', 'after a true true', 'before b true', 'run b', 'after b false true']);
  });

  it('a pipeline is a pass: it nests and reports diagnostics to the parent', async () => {
    const inner = new Pipeline('inner', 'prepare', [
      pass('deep', {
        run: (model, context) => {
          context.diagnose({ level: 'warning', message: `opt=${String(context.options.opt)}` });
          return { model, modified: true };
        },
      }),
    ]);
    const outer = new Pipeline('outer', 'prepare', [pass('first'), inner]);
    const run = await outer.execute(new Model(), { options: { opt: 'x' } });
    expect(run.modified).toBe(true);
    expect(run.diagnostics).toEqual([expect.objectContaining({ level: 'warning', message: 'opt=x' })]);
    expect(inner.info).toMatchObject({ name: 'inner', phase: 'prepare', summary: 'pipeline of 1 passes' });
  });

  it('a failure inside a nested pipeline names both pipelines', async () => {
    const inner = new Pipeline('inner', 'prepare', [
      pass('bad', {
        run: () => {
          throw new Error('oops');
        },
      }),
    ]);
    const error = await failureOf(new Pipeline('outer', 'prepare', [inner]).execute(new Model()));
    expect(error.message).toContain("Pass 'inner'");
    expect(error.message).toContain("Pass 'bad'");
    expect((error.cause as QuantkitError).code).toBe('QK_PASS_FAILED');
  });
});

describe('PassContext', () => {
  it('gives each pass its options object and the march', async () => {
    const contexts: PassContext[] = [];
    const capture = pass('capture', { run: (model, context) => (contexts.push(context), { model, modified: false }) });
    await new Pipeline('p', 'prepare', [capture]).execute(new Model());
    expect(contexts[0]!.options).toEqual({});
    expect(contexts[0]!.march).toBeUndefined();
  });
});
