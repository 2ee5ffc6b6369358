import { constantTensor } from '@quantkit/core';
import { describe, expect, it } from 'vitest';
import { foldAffine } from './fold-affine.js';
import { PATTERNS, wave, type PatternName } from './testing/pattern-graphs.js';
import { opTypes, runPass } from './testing/run-pass.js';

async function folded(name: PatternName) {
  const { model } = PATTERNS[name]();
  const output = model.graph.outputs[0]!;
  const { modified } = await runPass(foldAffine, model);
  return { model, modified, keepsOutput: model.graph.nodes().at(-1)!.output === output };
}

const scale = wave(4, 8, 1);
const shift = wave(4, 9);

describe('fold-affine', () => {
  it('1. Conv → Mul → Add by [C,1,1] constants: both fold into the Conv weight and bias', async () => {
    const { model, keepsOutput } = await folded('convThenAffine');
    expect(opTypes(model)).toEqual(['Conv']);
    expect(keepsOutput).toBe(true);
    const conv = model.graph.nodes()[0]!;
    const w = constantTensor(conv.input(1))!.toFloat32();
    expect(w[36 * 2 + 5]).toBeCloseTo(wave(144, 5)[36 * 2 + 5]! * scale[2]!, 6);
    expect(Array.from(constantTensor(conv.input(2))!.toFloat32())).toEqual(Array.from(shift));
  });

  it('2 and 3. Mul → Add before a 1×1 Conv without padding: a scales its input channels, b·W joins its bias', async () => {
    const { model } = await folded('affineThenPointwiseConv');
    expect(opTypes(model)).toEqual(['Conv']);
    const conv = model.graph.nodes()[0]!;
    expect(conv.input(0)!.name).toBe('x');
    const w0 = wave(3 * 4, 5);
    const w = constantTensor(conv.input(1))!.toFloat32();
    // weight [3, 4, 1, 1]: element (o=1, i=2).
    expect(w[4 + 2]).toBeCloseTo(w0[4 + 2]! * scale[2]!, 6);
    const expected = wave(3, 6)[1]! + [0, 1, 2, 3].reduce((sum, i) => sum + w0[4 + i]! * shift[i]!, 0);
    expect(constantTensor(conv.input(2))!.toFloat32()[1]).toBeCloseTo(expected, 5);
  });

  it('2. Mul by a [1,C,1,1] constant before a padded grouped Conv folds into its input channels', async () => {
    const { model } = await folded('mulThenPaddedConv');
    expect(opTypes(model)).toEqual(['Conv']);
    // group 2, weight [4, 2, 3, 3]: output channel 3 reads input channels 2 and 3.
    const w = constantTensor(model.graph.nodes()[0]!.input(1))!.toFloat32();
    expect(w[(3 * 2 + 1) * 9]).toBeCloseTo(wave(72, 5)[(3 * 2 + 1) * 9]! * scale[3]!, 6);
  });

  it('3. Add before a Gemm (transB): b·Bᵀ joins C', async () => {
    const { model } = await folded('addBeforeGemm');
    expect(opTypes(model)).toEqual(['Gemm']);
    const w0 = wave(20, 5);
    const b = wave(5, 9);
    const expected = wave(4, 6)[2]! + [0, 1, 2, 3, 4].reduce((sum, k) => sum + w0[2 * 5 + k]! * b[k]!, 0);
    expect(constantTensor(model.graph.nodes()[0]!.input(2))!.toFloat32()[2]).toBeCloseTo(expected, 5);
  });

  it('2. Mul before a grouped ConvTranspose scales axis 0 of its weight (its input channels)', async () => {
    const { model } = await folded('mulBeforeConvTranspose');
    expect(opTypes(model)).toEqual(['ConvTranspose']);
    const w = constantTensor(model.graph.nodes()[0]!.input(1))!.toFloat32();
    // weight [4, 3, 2, 2]: element (ci=3, j=1, 0, 0).
    expect(w[(3 * 3 + 1) * 4]).toBeCloseTo(wave(48, 5)[(3 * 3 + 1) * 4]! * scale[3]!, 6);
  });

  it('4. Mul → Add before a padded Conv becomes one BatchNormalization(scale, B, mean 0, var 1, epsilon 0)', async () => {
    const { model } = await folded('affineThenPaddedConv');
    expect(opTypes(model)).toEqual(['Relu', 'BatchNormalization', 'Conv']);
    const bn = model.graph.nodes()[1]!;
    expect(bn.output.name).toBe('aff_add_out0');
    expect(Array.from(constantTensor(bn.input(1))!.toFloat32())).toEqual(Array.from(scale));
    expect(Array.from(constantTensor(bn.input(2))!.toFloat32())).toEqual(Array.from(shift));
    expect(Array.from(constantTensor(bn.input(3))!.toFloat32())).toEqual([0, 0, 0, 0]);
    expect(Array.from(constantTensor(bn.input(4))!.toFloat32())).toEqual([1, 1, 1, 1]);
    expect(bn.attribute('epsilon')!.asNumber()).toBe(0);
  });

  it('4. a lone Add of a [C,1,1] constant becomes a BatchNormalization with unit scale', async () => {
    const { model, keepsOutput } = await folded('loneAdd');
    expect(opTypes(model)).toEqual(['Relu', 'BatchNormalization']);
    expect(keepsOutput).toBe(true);
    expect(Array.from(constantTensor(model.graph.nodes()[1]!.input(1))!.toFloat32())).toEqual([1, 1, 1, 1]);
  });

  it.each([
    ['the bias Add of a 3-D MatMul (the Linear form)', 'linearBias3d', ['MatMul', 'Add']],
    ['a scalar Mul and an Add along the last axis', 'notPerChannel', ['Relu', 'Mul', 'Add']],
  ] as const)('5. leaves alone %s', async (_, name, ops) => {
    const { model, modified } = await folded(name);
    expect(modified).toBe(false);
    expect(opTypes(model)).toEqual(ops);
  });
});
