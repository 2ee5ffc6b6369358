import { describe, expect, it } from 'vitest';
import { ContainerModule } from 'inversify';
import { createQuantkit } from '../di/create-quantkit.js';
import { PASS } from '../di/tokens.js';
import type { PipelineEdit } from '../pass/pass-manager.js';
import type { Pass, Phase } from '../pass/pass.js';
import { configuredPipeline } from './config-pipeline.js';
import { emptyConfig } from './quantkit-config.js';
import { errorOf } from '../testing/error-of.js';

function pass(name: string, phase: Phase = 'prepare', after?: string[]): Pass {
  return { info: { name, summary: name, phase, after }, run: (model) => ({ model, modified: false }) };
}

const quantkit = createQuantkit({
  plugins: [
    {
      name: 'test',
      module: new ContainerModule(({ bind }) => {
        for (const p of [pass('a'), pass('b', 'prepare', ['a']), pass('c'), pass('lower', 'convert')]) bind(PASS).toConstantValue(p);
      }),
    },
  ],
});
const file = '/p/quantkit.config.json';
const pipeline = (edits: PipelineEdit[], phase: Phase = 'prepare') =>
  configuredPipeline(quantkit, phase, { ...emptyConfig('/p'), file, pipeline: { [phase]: edits } });

describe('configuredPipeline', () => {
  it('1. without edits it is the default pipeline of the phase', () => {
    expect(pipeline([]).describe()).toEqual(['a', 'b', 'c']);
    expect(pipeline([], 'convert').describe()).toEqual(['lower']);
    expect(pipeline([]).info).toMatchObject({ name: 'prepare-pipeline', phase: 'prepare' });
  });

  it('1. drop removes a pass', () => {
    expect(pipeline([{ drop: 'b' }]).describe()).toEqual(['a', 'c']);
  });

  it('2. insert moves a pass that is already in the pipeline, so it runs once', () => {
    expect(pipeline([{ insert: 'c', after: 'a' }]).describe()).toEqual(['a', 'c', 'b']);
    expect(pipeline([{ insert: 'a', before: 'c' }]).describe()).toEqual(['b', 'a', 'c']);
  });

  it('2. a dropped pass can be inserted again elsewhere', () => {
    expect(pipeline([{ drop: 'c' }, { insert: 'c', before: 'a' }]).describe()).toEqual(['c', 'a', 'b']);
  });

  it('3. an unknown pass names the file, the edit and the passes', () => {
    const error = errorOf(() => pipeline([{ drop: 'b' }, { insert: 'c', after: 'nope' }]));
    expect(error.code).toBe('QK_CONFIG');
    expect(error.message).toContain(`${file}: pipeline.prepare[1] (insert c after nope)`);
    expect(error.message).toContain("no pass named 'nope'");
    expect(error.subject).toBe(file);
    expect(errorOf(() => pipeline([{ insert: 'ghost', after: 'a' }])).hint).toContain('a, b, c');
  });

  it('3. a pass of the other phase is refused with the phase it belongs to', () => {
    const error = errorOf(() => pipeline([{ insert: 'lower', after: 'a' }]));
    expect(error.message).toContain("'lower' is a convert pass; it cannot run in the prepare pipeline");
    expect(error.hint).toContain('pipeline.convert');
  });
});
