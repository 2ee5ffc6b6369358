import { describe, expect, it } from 'vitest';
import { fuseActivationPatterns } from './fuse-activation-patterns.js';
import { PATTERNS, type PatternName } from './testing/pattern-graphs.js';
import { opTypes, runPass } from './testing/run-pass.js';

async function fused(name: PatternName) {
  const { model } = PATTERNS[name]();
  // HardSwish needs opset 14; raise-opset brings every model to 17 before this pass.
  if (model.opset < 17) model.opsetImports.set('', 17);
  const output = model.graph.outputs[0]!;
  const { modified } = await runPass(fuseActivationPatterns, model);
  const last = model.graph.nodes().at(-1)!;
  return { model, modified, last, keepsOutput: last.output === output };
}

describe('fuse-activation-patterns', () => {
  it.each([
    ['x·Clip(x+3,0,6)/6 with a Constant-node bound', 'hardSwishDiv', ['Conv', 'HardSwish']],
    ['(1/6)·(Relu→Clip(Cast, Cast)(3+x)·x)', 'hardSwishReluCast', ['HardSwish']],
    ['x·(Clip(x+3,0,6)·(1/6))', 'hardSwishGrouped', ['HardSwish']],
    ['HardSigmoid(x; 1/6, 0.5)·x', 'hardSwishFromHardSigmoid', ['HardSwish']],
  ] as const)('1. HardSwish: %s → one HardSwish', async (_, name, ops) => {
    const { model, modified, last, keepsOutput } = await fused(name);
    expect(modified).toBe(true);
    expect(opTypes(model)).toEqual(ops);
    expect(keepsOutput).toBe(true);
    expect(last.inputs).toHaveLength(1);
    expect(model.graph.nodes().some((n) => n.opType === 'Constant' || n.opType === 'Cast')).toBe(false);
    expect(model.graph.initializers.size).toBe(name === 'hardSwishDiv' ? 1 : 0);
  });

  it('2. HardSigmoid: Clip(x+3,0,6)/6 → HardSigmoid(alpha 1/6, beta 0.5)', async () => {
    const { model, last } = await fused('hardSigmoidRelu6');
    expect(opTypes(model)).toEqual(['HardSigmoid']);
    expect(last.attribute('alpha')!.asNumber()).toBeCloseTo(1 / 6, 7);
    expect(last.attribute('beta')!.asNumber()).toBe(0.5);
  });

  it('2. HardSigmoid: Clip(x·0.2+0.5, 0, 1) → HardSigmoid(alpha 0.2, beta 0.5)', async () => {
    const { model, last } = await fused('hardSigmoidClipAffine');
    expect(opTypes(model)).toEqual(['HardSigmoid']);
    expect(last.attribute('alpha')!.asNumber()).toBeCloseTo(0.2, 7);
  });

  it('3. GELU erf form → Gelu at opset 20; not fused below 20', async () => {
    const low = await fused('geluErf');
    expect(low.modified).toBe(false);
    const { model } = PATTERNS.geluErf();
    model.opsetImports.set('', 20);
    await runPass(fuseActivationPatterns, model);
    expect(opTypes(model)).toEqual(['Gelu']);
    expect(model.graph.nodes()[0]!.attribute('approximate')).toBeUndefined();
  });

  it("3. GELU tanh form → Gelu(approximate='tanh')", async () => {
    const { model, last, keepsOutput } = await fused('geluTanh');
    expect(opTypes(model)).toEqual(['Gelu']);
    expect(last.attribute('approximate')!.asString()).toBe('tanh');
    expect(keepsOutput).toBe(true);
  });

  it('4. LayerNorm with Pow, scale and bias → LayerNormalization(axis -1, epsilon)', async () => {
    const { model, last, keepsOutput } = await fused('layerNorm');
    expect(opTypes(model)).toEqual(['LayerNormalization']);
    expect(last.inputs).toHaveLength(3);
    expect(last.attribute('epsilon')!.asNumber()).toBeCloseTo(1e-5, 9);
    expect(keepsOutput).toBe(true);
  });

  it('4. LayerNorm with d·d, axes as an input and no scale or bias → LayerNormalization with unit scale', async () => {
    const { model, last } = await fused('layerNormAxesInputNoBias');
    expect(opTypes(model)).toEqual(['LayerNormalization']);
    expect(last.inputs).toHaveLength(2);
  });

  it('5. a HardSwish whose shift is 2.9 is left alone', async () => {
    const { model, modified } = await fused('hardSwishShift29');
    expect(modified).toBe(false);
    expect([...opTypes(model)].sort()).toEqual(['Add', 'Clip', 'Constant', 'Div', 'Mul']);
  });

  it('5. a HardSwish whose Clip output is also read outside the pattern is left alone', async () => {
    const { model } = await fused('hardSwishInnerReused');
    expect(opTypes(model)).not.toContain('HardSwish');
  });
});
