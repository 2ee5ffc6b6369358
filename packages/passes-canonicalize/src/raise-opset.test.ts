import { QuantkitError } from '@quantkit/core';
import { describe, expect, it } from 'vitest';
import { raiseOpset } from './raise-opset.js';
import { imageGraph, PATTERNS } from './testing/pattern-graphs.js';
import { runPass } from './testing/run-pass.js';

describe('raise-opset', () => {
  it('1. an opset 7 model is upgraded to 17; the Clip min / max attributes become inputs', async () => {
    const g = imageGraph();
    const [y] = g.b.node('Clip', [g.x], { attributes: { min: 0.5, max: 2.5 } });
    const { model } = g.finish(y!, 7);
    const clip = model.graph.nodes()[0]!;
    const { modified, diagnostics } = await runPass(raiseOpset, model);
    expect(modified).toBe(true);
    expect(model.opset).toBe(17);
    expect(clip.inputs).toHaveLength(3);
    expect(diagnostics[0]!.message).toMatch(/opset 7 → 17/);
  });

  it('2. a model with a spelled-out GELU is raised to 20', async () => {
    const { model } = PATTERNS.geluErf();
    await runPass(raiseOpset, model);
    expect(model.opset).toBe(20);
  });

  it('2. without a GELU an opset 11 model goes to 17, not further', async () => {
    const { model } = PATTERNS.hardSwishDiv();
    await runPass(raiseOpset, model);
    expect(model.opset).toBe(17);
  });

  it('3. a model already at 17 (or 18) is unchanged', async () => {
    for (const name of ['convBn', 'layerNormAxesInputNoBias'] as const) {
      const { model } = PATTERNS[name]();
      const before = model.opset;
      expect((await runPass(raiseOpset, model)).modified).toBe(false);
      expect(model.opset).toBe(before);
    }
  });

  it('4. a model below opset 7 fails with QK_UNSUPPORTED', async () => {
    const g = imageGraph();
    const [y] = g.b.node('Relu', [g.x]);
    const { model } = g.finish(y!, 6);
    model.opsetImports.set('', 5);
    const error = await runPass(raiseOpset, model).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QuantkitError);
    expect((error as QuantkitError).code).toBe('QK_UNSUPPORTED');
  });
});
